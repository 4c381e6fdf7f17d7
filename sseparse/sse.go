package sseparse

import "bytes"

// SSE decodes text/event-stream bodies (HTML Living Standard, "Server-sent
// events", https://html.spec.whatwg.org/multipage/server-sent-events.html).
//
// The rules it implements, in short:
//
//   - The stream is UTF-8, handled as bytes; one byte-order mark at the very
//     start of the stream is dropped, anywhere else it is data.
//   - Lines end with CRLF, LF or a lone CR; a CR ending one chunk and a LF
//     starting the next are one terminator.
//   - An empty line dispatches the pending event. A line starting with ':'
//     is a comment. Otherwise the field name is the text before the first
//     colon (the whole line if there is none) and the value the text after
//     it, minus exactly one leading space.
//   - "event" sets the event type; "data" appends the value and a LF to the
//     data buffer; "id" sets the last event ID unless the value contains NUL
//     (the ID persists across events); "retry" counts only if all ASCII
//     digits; other fields are ignored.
//   - On dispatch nothing is emitted when no data line was seen; otherwise
//     the data loses its final LF (so data lines join with "\n", and a lone
//     "data:" gives an event with empty data). Type and data then reset.
//
// Deviations, each for a behaviour of real LLM endpoints:
//
//   - An unterminated last event is emitted by Close (the spec discards it,
//     but the OpenAI and Anthropic SDKs parse it, and so must a meter), and
//     Stats.Unterminated records that the stream ended early.
//   - Bare JSON objects: Gemini drops pretty-printed {"error": ...} objects
//     into alt=sse streams without a "data:" prefix, which a conforming
//     parser silently loses. A line whose first non-blank byte is '{' starts
//     one; lines join with "\n" until its braces balance (outside strings)
//     and it is emitted with Event.Raw set. It ends a pending event first, as
//     an empty line would. If an empty line or a known field comes before it
//     balances, it was a stray brace: it is dropped (Stats.Malformed) and
//     reading resumes there.
//   - "event: x data: {...}" on one line is read as the two fields.
//   - Data lines that are each a complete JSON object, with no empty line
//     between them, are emitted as separate events (sharing the type, ID and
//     retry) instead of being joined into invalid JSON.
//   - A retry field is reported only with the event it arrives in
//     (Event.Retry); an ID or retry inside a dropped oversize event is lost.
//
// An event whose data, type or ID exceeds the maximum event size is dropped
// up to the next empty line. The decoder owns four buffers (an unfinished
// line, the type, the data and the last ID), each bounded by that size.
type SSE struct {
	lr  lineReader
	max int

	name, data pendingField // type and data of the event being read
	dataLines  int          // data lines (or bare-JSON lines) in data
	dataObj    objectScan   // from a second data line on: is data one JSON object?
	retry      int64
	id         []byte // last event ID buffer

	skip bool // dropping an oversize event until the next empty line
	raw  bool // inside a bare JSON object
	rawS objectScan

	// replay is a line to be read again, after the event before it has been
	// returned (a bare JSON object first ends the pending event).
	replay      []byte
	replayTrunc bool
	hasReplay   bool

	bomHeld int  // bytes of a possible byte-order mark held back so far
	bomDone bool // the start of the stream has been checked for one
	closing uint8
	stats   Stats
	err     error
}

// Stages of end of stream, shared by the line-based framers.
const (
	closeNone    uint8 = iota
	closeFlush         // Close called: read the unfinished last line
	closePending       // then emit what is pending
	closeDone
)

// lineSlack lets a line be longer than the maximum event size by a field
// name and separator ("retry: "), so a value of exactly the maximum fits.
const lineSlack = 8

var bom = [3]byte{0xEF, 0xBB, 0xBF}

// NewSSE returns an SSE decoder that drops events whose data, type or ID is
// longer than maxEventSize bytes (<= 0: DefaultMaxEventSize).
func NewSSE(maxEventSize int) *SSE {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	d := &SSE{max: maxEventSize, retry: -1}
	d.lr.crEOL = true
	d.lr.limit = maxEventSize + lineSlack
	return d
}

// Feed hands the decoder the next chunk; it is read, not copied, by Next.
func (d *SSE) Feed(chunk []byte) {
	if !d.bomDone {
		chunk = d.skipBOM(chunk)
	}
	d.lr.feed(chunk)
}

// skipBOM drops a byte-order mark at the start of the stream, even when it
// arrives split across chunks: matching bytes are held back until the mark is
// complete or disproved.
func (d *SSE) skipBOM(p []byte) []byte {
	i := 0
	for i < len(p) && d.bomHeld+i < len(bom) && p[i] == bom[d.bomHeld+i] {
		i++
	}
	switch {
	case d.bomHeld+i == len(bom):
		d.bomDone = true
		return p[i:]
	case i == len(p):
		d.bomHeld += i
		return nil
	}
	d.endBOM()
	return p
}

// endBOM gives bytes held back as a possible byte-order mark to the line
// reader once they turn out to be data.
func (d *SSE) endBOM() {
	d.bomDone = true
	if d.bomHeld > 0 {
		d.lr.prime(bom[:d.bomHeld])
	}
}

// Next fills ev with the next event and reports whether there was one.
func (d *SSE) Next(ev *Event) bool {
	for {
		if d.hasReplay {
			d.hasReplay = false
			if d.line(d.replay, d.replayTrunc, ev) {
				return true
			}
		}
		if line, ok := d.lr.next(); ok {
			if d.line(line, d.lr.truncated, ev) {
				return true
			}
			continue
		}
		// The chunk is used up and the caller may reuse it, and saving its
		// tail overwrites the line carry: keep what the pending event still
		// needs from either.
		d.name.keep(d.max)
		d.data.keep(d.max)
		switch d.closing {
		case closeNone:
			d.lr.save()
			return false
		case closeFlush:
			d.closing = closePending
			if line, ok := d.lr.flush(); ok && d.line(line, d.lr.truncated, ev) {
				return true
			}
		case closePending:
			d.closing = closeDone
			if d.raw {
				d.dropRaw()
			}
			if !d.skip && d.dataLines > 0 {
				d.stats.Unterminated = true
				return d.dispatch(ev)
			}
		default:
			return false
		}
	}
}

// line interprets one line and reports whether it completed an event in ev.
// trunc says the line is only a prefix of a longer one.
func (d *SSE) line(line []byte, trunc bool, ev *Event) bool {
	if d.skip {
		if len(line) == 0 && !trunc {
			d.skip, d.lr.discard = false, false
		}
		return false
	}
	// Fast paths for the most common lines.
	if len(line) >= 5 && string(line[:5]) == "data:" {
		if d.raw {
			d.dropRaw()
		}
		return d.field(fieldData, line[5:], trunc, ev)
	}
	if len(line) >= 6 && string(line[:6]) == "event:" && !d.raw {
		return d.field(fieldEvent, line[6:], trunc, ev)
	}
	if d.raw {
		if len(line) != 0 && !isField(line) {
			return d.rawLine(line, trunc, ev)
		}
		// An empty line or an SSE field cannot be part of a pretty-printed
		// object: the "object" was a stray brace; resynchronise here.
		d.dropRaw()
	}
	if len(line) == 0 {
		return d.dispatch(ev)
	}
	switch line[0] {
	case ':':
		return false
	case '{', ' ', '\t':
		// Leniency: a bare JSON object without "data:". Gemini sends
		// pretty-printed error objects so, one member per line; a
		// conforming parser reads `  "error": {` as an unknown field and
		// loses the error. The object runs, brace-counted, until it closes.
		if j := skipSpace(line); j < len(line) && line[j] == '{' {
			return d.startRaw(line, j, trunc, ev)
		}
	}
	name, value := line, line[len(line):]
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name, value = line[:c], line[c+1:]
	}
	switch string(name) {
	case "data":
		return d.field(fieldData, value, trunc, ev)
	case "event":
		return d.field(fieldEvent, value, trunc, ev)
	case "id":
		return d.field(fieldID, value, trunc, ev)
	case "retry":
		return d.field(fieldRetry, value, trunc, ev)
	}
	return false
}

// The fields the decoder acts on.
const (
	fieldData = iota
	fieldEvent
	fieldID
	fieldRetry
)

// field applies a known field; value still has its optional leading space.
func (d *SSE) field(f int, value []byte, trunc bool, ev *Event) bool {
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	if trunc || len(value) > d.max {
		d.oversize()
		return false
	}
	switch f {
	case fieldData:
		return d.addData(value, ev)
	case fieldEvent:
		// Leniency: "event: message_delta data: {...}" on one line, as some
		// proxies write it, is an event type followed by a data line.
		if bytes.IndexByte(value, ' ') >= 0 {
			if i := bytes.Index(value, dataSep); i >= 0 {
				d.name.set(bytes.TrimRight(value[:i], " \t"))
				v := value[i+len(dataSep):]
				if len(v) > 0 && v[0] == ' ' {
					v = v[1:]
				}
				return d.addData(v, ev)
			}
		}
		d.name.set(value)
	case fieldID:
		if bytes.IndexByte(value, 0) < 0 {
			d.id = appendCapped(d.id[:0], value, d.max)
		}
	case fieldRetry:
		if r, ok := parseRetry(value); ok {
			d.retry = r
		}
	}
	return false
}

// addData appends one data line to the pending event.
func (d *SSE) addData(v []byte, ev *Event) bool {
	if d.dataLines == 0 {
		d.data.set(v)
		d.dataLines = 1
		return false
	}
	// Leniency: some servers write one JSON object per data line with no
	// empty line between them; joined with "\n" they would be invalid JSON,
	// so when the data so far is one complete object and so is this line,
	// the pending event is emitted and this line starts the next (same
	// type). A multi-line object (first line "{") is still joined. Only the
	// rare second data line pays for the check.
	if d.dataLines == 1 {
		d.dataObj = objectScan{}
		d.dataObj.feed(d.data.b)
	}
	if d.dataObj.complete() && isObject(v) {
		d.emit(ev, d.data.b, false)
		d.data.set(v)
		d.dataLines = 1
		return true
	}
	if len(d.data.b)+1+len(v) > d.max {
		d.oversize()
		return false
	}
	d.data.add(v, d.max)
	d.dataObj.feed(v)
	d.dataLines++
	return false
}

// dispatch ends the pending event at an empty line (or end of stream).
func (d *SSE) dispatch(ev *Event) bool {
	ok := d.dataLines > 0
	if ok {
		d.emit(ev, d.data.b, false)
	}
	d.clearEvent()
	return ok
}

func (d *SSE) emit(ev *Event, data []byte, raw bool) {
	ev.Name = d.name.b
	ev.Data = data
	ev.ID = nil
	if len(d.id) > 0 {
		ev.ID = d.id
	}
	ev.Retry = d.retry
	ev.Raw = raw
	ev.MessageType = nil
	d.stats.Events++
}

func (d *SSE) clearEvent() {
	d.name.clear()
	d.data.clear()
	d.dataLines = 0
	d.retry = -1
	d.raw = false
}

// oversize drops the pending event and skips to the next empty line.
func (d *SSE) oversize() {
	d.stats.Oversize++
	d.err = ErrEventTooLarge
	d.clearEvent()
	d.skip, d.lr.discard = true, true
}

// startRaw begins a bare JSON object at line[j]. A bare object is a message
// of its own: an event pending before it is emitted first, as if an empty
// line had come between them.
func (d *SSE) startRaw(line []byte, j int, trunc bool, ev *Event) bool {
	if d.dataLines > 0 {
		d.replay, d.replayTrunc, d.hasReplay = line, trunc, true
		return d.dispatch(ev)
	}
	d.clearEvent()
	d.raw, d.rawS = true, objectScan{}
	return d.rawLine(line[j:], trunc, ev)
}

// rawLine adds one line to a bare JSON object. The object ends where its
// braces balance; the rest of that line is junk.
func (d *SSE) rawLine(line []byte, trunc bool, ev *Event) bool {
	if trunc {
		d.oversize()
		return false
	}
	end := d.rawS.feed(line)
	part := line
	if end >= 0 {
		part = line[:end]
	}
	if d.dataLines == 0 {
		if len(part) > d.max {
			d.oversize()
			return false
		}
		d.data.set(part)
	} else {
		if len(d.data.b)+1+len(part) > d.max {
			d.oversize()
			return false
		}
		d.data.add(part, d.max)
	}
	d.dataLines++
	if end < 0 {
		return false
	}
	d.stats.Malformed += countNonSpace(line[end:])
	d.emit(ev, d.data.b, true)
	d.clearEvent()
	return true
}

// dropRaw abandons a bare JSON object that never closed.
func (d *SSE) dropRaw() {
	d.stats.Malformed += countNonSpace(d.data.b)
	d.clearEvent()
}

// isField reports whether line starts with a field the decoder knows,
// which no line of a pretty-printed JSON object can.
func isField(line []byte) bool {
	name := line
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name = line[:c]
	}
	switch string(name) {
	case "data", "event", "id", "retry":
		return true
	}
	return false
}

func skipSpace(p []byte) int {
	i := 0
	for i < len(p) && (p[i] == ' ' || p[i] == '\t') {
		i++
	}
	return i
}

// parseRetry reads a retry value: ASCII digits only, saturating rather than
// wrapping on absurd lengths.
func parseRetry(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-9)/10 {
			n = 1<<63 - 1
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Close marks the end of the body; Next then emits an unterminated last event.
func (d *SSE) Close() {
	if !d.bomDone {
		d.endBOM()
	}
	if d.closing == closeNone {
		d.closing = closeFlush
	}
}

// Err returns ErrEventTooLarge once an event has been dropped, else nil.
func (d *SSE) Err() error { return d.err }

// Stats returns the counters so far.
func (d *SSE) Stats() Stats { return d.stats }

// Reset makes the decoder ready for a new body, keeping its buffers.
func (d *SSE) Reset() {
	d.lr.reset()
	d.name.clear()
	d.data.clear()
	*d = SSE{
		lr: d.lr, max: d.max, name: d.name, data: d.data, id: d.id[:0], retry: -1,
	}
}

// bufCap is the capacity of every buffer the decoder owns, for tests of the
// memory bound.
func (d *SSE) bufCap() int {
	return cap(d.lr.carry) + cap(d.name.buf) + cap(d.data.buf) + cap(d.id)
}

// pendingField is a value of the pending event. It aliases the input until
// the input is about to go away, and only then is copied into buf, so an
// event read within one chunk costs no copy.
type pendingField struct {
	b     []byte
	buf   []byte
	owned bool // b is buf
}

func (f *pendingField) set(v []byte) { f.b, f.owned = v, false }

func (f *pendingField) clear() { f.b, f.owned = nil, false }

// keep copies the value into buf, so it survives the input it came from.
func (f *pendingField) keep(limit int) {
	if !f.owned && f.b != nil {
		f.buf = appendCapped(f.buf[:0], f.b, limit)
		f.b, f.owned = f.buf, true
	}
}

// add appends "\n" and v; the caller has checked the result fits limit.
func (f *pendingField) add(v []byte, limit int) {
	f.keep(limit)
	f.buf = appendCapped(f.buf, nl, limit)
	f.buf = appendCapped(f.buf, v, limit)
	f.b = f.buf
}

var (
	nl      = []byte{'\n'}
	dataSep = []byte(" data:")
)
