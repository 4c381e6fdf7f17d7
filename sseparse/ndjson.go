package sseparse

// NDJSON frames newline-delimited JSON (Ollama's native API streams one
// object per line): each non-blank line is one message. Lines end with LF or
// CRLF; a lone CR is whitespace inside the JSON, not a line break. Lines are
// not validated, so an error line such as {"error":"..."} reaches the caller
// like any other.
type NDJSON struct {
	lr      lineReader
	max     int
	closing uint8
	stats   Stats
	err     error
}

// NewNDJSON returns an NDJSON framer that drops lines longer than
// maxEventSize bytes (<= 0: DefaultMaxEventSize).
func NewNDJSON(maxEventSize int) *NDJSON {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	n := &NDJSON{max: maxEventSize}
	// One more byte for the CR of a CRLF, stripped when the line ends.
	n.lr.limit = maxEventSize + 1
	return n
}

// Feed hands the framer the next chunk; it is read, not copied, by Next.
func (n *NDJSON) Feed(chunk []byte) { n.lr.feed(chunk) }

// Next fills ev with the next line and reports whether there was one.
func (n *NDJSON) Next(ev *Event) bool {
	for {
		line, ok := n.lr.next()
		if !ok {
			if n.closing != closeFlush {
				n.lr.save()
				return false
			}
			n.closing = closeDone
			if line, ok = n.lr.flush(); !ok {
				return false
			}
			n.stats.Unterminated = !isBlank(line) && !n.lr.truncated && len(line) <= n.max
		}
		if n.lr.truncated || len(line) > n.max {
			n.stats.Oversize++
			n.err = ErrEventTooLarge
			continue
		}
		if isBlank(line) {
			continue
		}
		*ev = Event{Data: line, Retry: -1}
		n.stats.Events++
		return true
	}
}

// isBlank reports a line of whitespace only; the first byte decides for
// every line that holds JSON.
func isBlank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// Close marks the end of the body; Next then emits a last line that had no
// newline.
func (n *NDJSON) Close() {
	if n.closing == closeNone {
		n.closing = closeFlush
	}
}

// Err returns ErrEventTooLarge once a line has been dropped, else nil.
func (n *NDJSON) Err() error { return n.err }

// Stats returns the counters so far.
func (n *NDJSON) Stats() Stats { return n.stats }

// Reset makes the framer ready for a new body, keeping its buffer.
func (n *NDJSON) Reset() {
	n.lr.reset()
	*n = NDJSON{lr: n.lr, max: n.max}
}

// bufCap is the capacity of the framer's buffer, for tests of the memory bound.
func (n *NDJSON) bufCap() int { return cap(n.lr.carry) }
