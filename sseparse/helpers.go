package sseparse

// This file holds what the three framers share: bounded buffers, the line
// splitter (SSE and NDJSON) and the JSON bracket scanner (JSON array, and the
// SSE leniencies for bare and back-to-back JSON objects).

// minBuf is the first capacity a buffer gets, so that small messages do not
// cost a string of tiny reallocations.
const minBuf = 512

// appendCapped appends p to b like append, but grows the capacity itself so
// that it never exceeds limit: append's own growth could overshoot the
// maximum event size by up to 2x, and the capacity is what bounds memory.
// Callers make sure len(b)+len(p) <= limit.
func appendCapped(b, p []byte, limit int) []byte {
	if n := len(b) + len(p); n > cap(b) {
		c := max(2*cap(b), minBuf, n)
		c = min(c, max(limit, n))
		nb := make([]byte, len(b), c)
		copy(nb, b)
		b = nb
	}
	return append(b, p...)
}

// isSpace reports JSON whitespace, which is also what servers pad lines with.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// countNonSpace counts the bytes of p that are not whitespace, for
// Stats.Malformed: padding between messages is not worth reporting.
func countNonSpace(p []byte) uint64 {
	var n uint64
	for _, c := range p {
		if !isSpace(c) {
			n++
		}
	}
	return n
}

// lineReader cuts the fed chunks into lines. A line that lies inside one
// chunk is returned as a slice of it, without copying; only a line that
// straddles chunks is assembled in carry, which never grows beyond limit.
// A longer line comes back as its first limit bytes with truncated set, so
// callers can still see what kind of line it was and drop it.
type lineReader struct {
	chunk []byte
	pos   int
	// nl and cr cache the position of the next '\n' and '\r' at or after
	// pos (len(chunk) when there is none, below pos when unknown), so that
	// each byte of a chunk is searched at most once for each.
	nl, cr int
	// crEOL makes a lone CR end a line too, as SSE requires; without it
	// (NDJSON) a CR is ordinary data except one right before the LF.
	crEOL bool
	// crPending: the previous chunk ended with a CR that ended a line, so a
	// LF at the start of this one belongs to the same terminator.
	crPending bool

	carry    []byte
	carrying bool // carry holds the start of an unfinished line
	trunc    bool // the unfinished line lost bytes to limit or discard
	// discard tells the reader that the caller does not need the content of
	// lines that straddle chunks (it is skipping to a boundary); they come
	// back empty and truncated instead of being copied.
	discard   bool
	truncated bool // the line last returned is only a prefix of the real one
	limit     int
}

func (r *lineReader) feed(p []byte) {
	r.chunk, r.pos, r.nl, r.cr = p, 0, -1, -1
}

// reset forgets all state but keeps the carry buffer for reuse.
func (r *lineReader) reset() {
	*r = lineReader{carry: r.carry[:0], crEOL: r.crEOL, limit: r.limit}
}

// next returns the next complete line without its terminator, or false when
// the chunk holds no more. The caller must then call save before it lets the
// chunk go; save is separate because it overwrites carry, which the caller
// may still be reading from.
func (r *lineReader) next() ([]byte, bool) {
	p, i := r.chunk, r.pos
	if i >= len(p) {
		return nil, false
	}
	if r.crPending {
		r.crPending = false
		if p[i] == '\n' {
			i++
			r.pos = i
			if i == len(p) {
				return nil, false
			}
		}
	}
	end := len(p)
	if r.crEOL {
		if r.cr < i {
			if p[i] == '\r' { // an empty CRLF line: spare the call
				r.cr = i
			} else {
				r.cr = indexFrom(p, i, '\r')
			}
		}
		end = r.cr
	}
	if r.nl < i {
		// Search no further than the next CR: for a CRLF stream that keeps
		// the search to this line, and a lone-CR stream stays linear.
		r.nl = -1
		if p[i] == '\n' {
			r.nl = i
		} else if end == len(p) {
			r.nl = indexFrom(p, i, '\n')
		} else if end > i {
			if j := indexByte(p[i:end], '\n'); j >= 0 {
				r.nl = i + j
			}
		}
	}
	next := end + 1
	if r.nl >= 0 && r.nl <= end {
		end, next = r.nl, r.nl+1
	} else if next == len(p) {
		r.crPending = true
	} else if next < len(p) && p[next] == '\n' {
		next++
	}
	if end == len(p) {
		r.pos = i
		return nil, false
	}
	r.pos = next
	line := p[i:end]
	r.truncated = false
	if r.carrying {
		r.stash(line)
		line, r.truncated = r.carry, r.trunc
		r.carrying = false
	}
	return r.trimCR(line), true
}

// save keeps the unfinished tail of the chunk in carry.
func (r *lineReader) save() {
	if r.pos < len(r.chunk) {
		r.stash(r.chunk[r.pos:])
		r.pos = len(r.chunk)
	}
}

// flush returns the unfinished last line at end of stream, if any.
func (r *lineReader) flush() (line []byte, ok bool) {
	r.save()
	if !r.carrying {
		return nil, false
	}
	r.carrying = false
	r.truncated = r.trunc
	return r.trimCR(r.carry), true
}

// trimCR drops the CR of a CRLF when CR alone is not a terminator.
func (r *lineReader) trimCR(line []byte) []byte {
	if !r.crEOL && len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1]
	}
	return line
}

// stash keeps p, a piece of an unfinished line, within limit.
func (r *lineReader) stash(p []byte) {
	if !r.carrying {
		r.carrying, r.trunc, r.carry = true, false, r.carry[:0]
	}
	if r.trunc || len(p) == 0 {
		return
	}
	if r.discard {
		r.trunc = true
		return
	}
	if room := r.limit - len(r.carry); len(p) > room {
		p, r.trunc = p[:room], true
	}
	r.carry = appendCapped(r.carry, p, r.limit)
}

// prime starts an unfinished line with p, for bytes held back before the
// reader saw them (a partial byte-order mark that turned out not to be one).
func (r *lineReader) prime(p []byte) {
	r.carrying, r.trunc = false, false
	r.stash(p)
}

// indexFrom is indexByte from offset i, returning len(p) when c is absent.
func indexFrom(p []byte, i int, c byte) int {
	if j := indexByte(p[i:], c); j >= 0 {
		return i + j
	}
	return len(p)
}

// jsonScanner follows JSON's lexical structure just far enough to find where
// a value that opens with '{', '[' or '"' closes: it counts brackets outside
// strings, and a string ends at a '"' that is not escaped. It does not
// validate. All its state is in the struct, so a value can be fed in pieces
// split anywhere, even inside an escape.
type jsonScanner struct {
	depth int
	inStr bool
	esc   bool
}

// scan consumes p and returns the index just past the byte that closes the
// outermost value, or -1 if p ends first. The first byte ever fed must be the
// value's first byte.
func (s *jsonScanner) scan(p []byte) int {
	i := 0
	if s.esc { // an escape split from the character it escapes
		s.esc = false
		i++
	}
	q := -1 // the next '"' at or after i (len(p) if none), when q >= i
	for i < len(p) {
		if s.inStr {
			// Strings are most of the bytes: find their end with IndexByte,
			// and look for escapes only up to that quote.
			if q < i {
				q = indexFrom(p, i, '"')
			}
			if k := indexByte(p[i:q], '\\'); k >= 0 {
				i += k + 2
				if i > len(p) {
					s.esc = true
				}
				continue
			}
			if q == len(p) {
				return -1
			}
			i, s.inStr = q+1, false
			if s.depth == 0 { // the value was a string
				return i
			}
			continue
		}
		c := p[i]
		i++
		switch jsonClass[c] {
		case 0:
		case '"':
			s.inStr = true
		case '{':
			s.depth++
		case '}':
			s.depth--
			if s.depth <= 0 {
				return i
			}
		}
	}
	return -1
}

// jsonClass maps the bytes the scanner acts on outside strings to one
// representative, everything else to 0: one table load beats a chain of
// comparisons on the whitespace and punctuation between strings.
var jsonClass = [256]byte{'"': '"', '{': '{', '[': '{', '}': '}', ']': '}'}

// objectScan decides, over bytes fed in pieces, whether they form exactly one
// JSON object with optional surrounding whitespace.
type objectScan struct {
	js    jsonScanner
	state uint8
}

const (
	objBefore uint8 = iota // only whitespace so far
	objIn                  // inside the object
	objAfter               // the object closed; only whitespace since
	objNot                 // something else: not a single object
)

// feed consumes p and returns the index in p just past the closing brace when
// the object closes within p, else -1.
func (o *objectScan) feed(p []byte) int {
	closeAt := -1
	for i := 0; i < len(p); i++ {
		switch o.state {
		case objBefore:
			if isSpace(p[i]) {
				continue
			}
			if p[i] != '{' {
				o.state = objNot
				return closeAt
			}
			o.state, o.js = objIn, jsonScanner{}
			i--
		case objIn:
			e := o.js.scan(p[i:])
			if e < 0 {
				return closeAt
			}
			o.state, closeAt = objAfter, i+e
			i += e - 1
		case objAfter:
			if !isSpace(p[i]) {
				o.state = objNot
				return closeAt
			}
		default:
			return closeAt
		}
	}
	return closeAt
}

// complete reports whether everything fed so far is one whole object.
func (o *objectScan) complete() bool { return o.state == objAfter }

// isObject reports whether p is exactly one JSON object (as far as brackets,
// strings and escapes tell).
func isObject(p []byte) bool {
	var o objectScan
	o.feed(p)
	return o.complete()
}
