package sseparse

// JSONArray frames a streamed JSON array into its top-level elements: Gemini
// and Vertex streamGenerateContent without alt=sse send one array, usually
// pretty-printed, whose elements ([{...}\r\n,\r\n{...}]) arrive as the
// model produces them. An element ends where its brackets balance, counting
// only outside strings and honouring escapes, so no JSON is decoded.
//
// Elements are objects (all that LLM APIs stream), arrays or strings. Any
// other byte between elements except whitespace and ',' (a number, true,
// false, null, or junk) is counted in Stats.Malformed and skipped; strings
// are framed rather than skipped so that a bracket inside one cannot start
// an element. A body that is a bare object instead of an
// array (a non-stream error reply) is framed as one element. An element cut
// off by the end of the body is counted as Malformed, not emitted.
type JSONArray struct {
	max   int
	chunk []byte
	pos   int
	state uint8

	inArray  bool // a '[' opened the body
	scan     jsonScanner
	buf      []byte // an element that straddles chunks
	carrying bool   // the current element began in an earlier chunk
	drop     bool   // the current element is oversize: scan on, store nothing
	size     int    // bytes of the current element held or dropped so far

	closed bool
	stats  Stats
	err    error
}

// Where the framer is in the body.
const (
	arrTop     uint8 = iota // before the array (or between bare objects)
	arrBetween              // inside the array, between elements
	arrElem                 // inside an element
	arrEnd                  // after the closing ']'
)

// NewJSONArray returns a JSON array framer that drops elements longer than
// maxEventSize bytes (<= 0: DefaultMaxEventSize).
func NewJSONArray(maxEventSize int) *JSONArray {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	return &JSONArray{max: maxEventSize}
}

// Feed hands the framer the next chunk; it is read, not copied, by Next.
func (a *JSONArray) Feed(chunk []byte) { a.chunk, a.pos = chunk, 0 }

// Next fills ev with the next element and reports whether there was one.
func (a *JSONArray) Next(ev *Event) bool {
	p := a.chunk
	for a.pos < len(p) {
		if a.state == arrElem {
			if a.element(ev) {
				return true
			}
			continue
		}
		c := p[a.pos]
		if isSpace(c) {
			a.pos++
			continue
		}
		switch {
		case (c == '{' || c == '"') && a.state != arrEnd, c == '[' && a.state == arrBetween:
			// An element starts here; it is scanned from its opening bracket.
			a.state, a.scan, a.carrying, a.drop, a.size = arrElem, jsonScanner{}, false, false, 0
			continue
		case c == '[' && a.state == arrTop:
			a.state, a.inArray = arrBetween, true
		case c == ',' && a.state == arrBetween:
		case c == ']' && a.state == arrBetween:
			a.state = arrEnd
		default:
			a.stats.Malformed++
		}
		a.pos++
	}
	if a.closed && a.state == arrElem {
		a.stats.Malformed += uint64(a.size)
		a.state = arrEnd
	}
	return false
}

// element scans the current element from pos and reports whether it ended
// and was put in ev.
func (a *JSONArray) element(ev *Event) bool {
	p, start := a.chunk, a.pos
	e := a.scan.scan(p[start:])
	if e < 0 {
		a.hold(p[start:])
		a.pos = len(p)
		return false
	}
	a.pos = start + e
	a.state = arrTop
	if a.inArray {
		a.state = arrBetween
	}
	elem := p[start:a.pos]
	if a.carrying {
		a.hold(elem)
		elem = a.buf
	}
	switch {
	case a.drop: // counted when it was dropped
		return false
	case len(elem) > a.max:
		a.oversize()
		return false
	}
	*ev = Event{Data: elem, Retry: -1}
	a.stats.Events++
	return true
}

// hold keeps a piece of an element that straddles chunks, within the maximum
// event size: beyond it the element is dropped but still scanned, so framing
// resumes right after it.
func (a *JSONArray) hold(p []byte) {
	if !a.carrying {
		a.carrying, a.buf = true, a.buf[:0]
	}
	a.size += len(p)
	if a.drop {
		return
	}
	if len(a.buf)+len(p) > a.max {
		a.oversize()
		a.drop, a.buf = true, a.buf[:0]
		return
	}
	a.buf = appendCapped(a.buf, p, a.max)
}

func (a *JSONArray) oversize() {
	a.stats.Oversize++
	a.err = ErrEventTooLarge
}

// Close marks the end of the body; an element still open is counted as
// Malformed by the next call to Next.
func (a *JSONArray) Close() { a.closed = true }

// Err returns ErrEventTooLarge once an element has been dropped, else nil.
func (a *JSONArray) Err() error { return a.err }

// Stats returns the counters so far.
func (a *JSONArray) Stats() Stats { return a.stats }

// Reset makes the framer ready for a new body, keeping its buffer.
func (a *JSONArray) Reset() { *a = JSONArray{max: a.max, buf: a.buf[:0]} }

// bufCap is the capacity of the framer's buffer, for tests of the memory bound.
func (a *JSONArray) bufCap() int { return cap(a.buf) }
