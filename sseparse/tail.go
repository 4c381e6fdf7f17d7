package sseparse

// Tail keeps the end of a stream so that a proxy can skip framing and
// parsing its middle. LLM streams report their totals cumulatively, in the
// last messages (a usage chunk, message_delta, the final Gemini chunk,
// response.completed, Ollama's done object), so a parser that has seen the
// head of a stream and then only its end records the same result as one
// that saw every message; the bytes between cost a copy instead of a parse.
//
// Tail holds a suffix of the stream that starts at a message boundary: the
// last three complete messages whole, however large (up to the maximum
// event size; see keptMessages), and at least the last keep bytes, cut
// back to a boundary. Hand Bytes to the same framer at the end of the stream.
//
// Boundaries are found only where they are certain, so a Tail never cuts
// inside a message: for SSE a blank line ending in LF ("\n\n" or "\n\r\n";
// streams that end lines with a lone CR never show one, and a Tail over
// them keeps seeking, see Append), for NDJSON any LF. A boundary missed
// only makes it keep more.
//
// Memory is bounded by the configuration, whatever the stream's length:
// the retained suffix is at most three messages of maxEventSize plus keep
// bytes plus the message in progress (itself dropped once larger than
// maxEventSize), and the buffer is compacted whenever it doubles.
type Tail struct {
	ndjson    bool
	keep      int
	max       int
	buf       []byte // buf[0] starts a message
	compactAt int
	endSize   int  // see EndSize
	seeking   bool // no boundary found yet: bytes go back to the caller's framer
	skipping  bool // dropping an oversize message up to the next boundary
	oversize  uint64
}

// NewTail returns a Tail for SSE (ndjson false) or NDJSON streams that keeps
// at least keep bytes and drops a message in progress once it is larger
// than maxEventSize (<= 0: DefaultMaxEventSize). When seeking, the stream
// handed to Append does not start at a message boundary: Append returns
// the bytes before the first one, which belong to the message the caller's
// framer is in.
func NewTail(ndjson bool, keep, maxEventSize int, seeking bool) *Tail {
	t := new(Tail)
	t.Reset(ndjson, keep, maxEventSize, seeking)
	return t
}

// Reset makes t as NewTail would, for another stream, keeping its buffer
// unless large messages grew it well past what keep needs: a proxy can
// reuse Tails instead of allocating one per stream.
func (t *Tail) Reset(ndjson bool, keep, maxEventSize int, seeking bool) {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	keep = max(keep, 0)
	buf := t.buf[:0]
	if cap(buf) > 8*max(keep, minCompact) {
		buf = nil
	}
	*t = Tail{ndjson: ndjson, keep: keep, max: maxEventSize, buf: buf, seeking: seeking,
		compactAt: max(2*keep, minCompact), endSize: keep + endSlack}
}

// endSlack is the room EndSize leaves at first for the messages around
// the keep bytes: enough for the small events of a token stream.
const endSlack = 1 << 10

// EndSize is how much of the end of a long span to hand AppendEnd: a
// proxy reads that much of every chunk, so it starts small, at keep plus
// endSlack, and doubles whenever it proves too short to show the last
// messages of the stream at hand, up to what a Tail can keep.
func (t *Tail) EndSize() int { return t.endSize }

// NextBoundary returns the offset just after the first certain message
// boundary in b (see Tail), or -1. The bytes before b are not known, so a
// boundary whose first byte came earlier is not found.
func NextBoundary(b []byte, ndjson bool) int {
	for from := 0; ; {
		i := indexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		if ndjson || endsBlankLine(b, i) {
			return i + 1
		}
		from = i + 1
	}
}

// endsBlankLine reports whether the LF at b[i] ends an empty SSE line that
// follows an LF-terminated one: "\n\n" or "\n\r\n".
func endsBlankLine(b []byte, i int) bool {
	return i >= 1 && b[i-1] == '\n' || i >= 2 && b[i-1] == '\r' && b[i-2] == '\n'
}

// Append adds the next chunk of the stream. While seeking it returns the
// bytes of chunk before the first boundary (all of chunk if there is none)
// for the caller to frame; otherwise nil.
func (t *Tail) Append(chunk []byte) (lead []byte) {
	if t.seeking || t.skipping {
		p := NextBoundary(chunk, t.ndjson)
		if p < 0 {
			if t.seeking {
				return chunk
			}
			return nil
		}
		if t.seeking {
			lead = chunk[:p]
		}
		t.seeking, t.skipping = false, false
		chunk = chunk[p:]
	}
	// A chunk that holds its own last messages and keep bytes replaces
	// everything kept so far without being copied whole.
	if len(chunk) > t.keep && t.AppendEnd(chunk) {
		return lead
	}
	t.buf = append(t.buf, chunk...)
	if len(t.buf) > t.compactAt {
		from, last, _ := t.retainFrom(t.buf, true)
		t.buf = t.buf[:copy(t.buf, t.buf[from:])]
		t.settle(last - from)
	}
	return lead
}

// AppendEnd is Append for a span of the stream of which only its end is
// given, so that a long span need not be copied whole: it keeps the end's
// last messages and keep bytes, dropping everything before, and reports
// true if end shows them all. Otherwise it changes nothing, and the caller
// appends the whole span.
func (t *Tail) AppendEnd(end []byte) bool {
	if t.seeking || t.skipping {
		return false
	}
	from, last, ok := t.retainFrom(end, false)
	if !ok {
		if len(end) >= t.endSize {
			t.endSize = min(2*t.endSize, t.keep+(keptMessages+1)*t.max)
		}
		return false
	}
	t.buf = append(t.buf[:0], end[from:]...)
	t.settle(last - from)
	return true
}

// Bytes returns the kept suffix; it starts at a message boundary (or is
// empty) and stays valid until the next Append or Reset.
func (t *Tail) Bytes() []byte { return t.buf }

// Oversize counts the messages in progress that were dropped for being
// larger than the maximum event size.
func (t *Tail) Oversize() uint64 { return t.oversize }

// settle runs after buf was cut to its retained suffix, whose last
// complete message ends at last: a message in progress larger than the
// maximum event size is dropped up to the next boundary, as a framer drops
// it, and the next compaction waits until buf has doubled.
func (t *Tail) settle(last int) {
	if len(t.buf)-last > t.max {
		t.buf = t.buf[:last]
		t.skipping = true
		t.oversize++
	}
	t.compactAt = max(2*len(t.buf), 2*t.keep, minCompact)
}

// keptMessages is how many of the last complete messages a Tail keeps
// whole: OpenAI Chat ends with the finish_reason chunk, the usage chunk and
// [DONE], Anthropic with message_delta and message_stop.
const keptMessages = 3

// minCompact is the smallest buffer worth compacting.
const minCompact = 4096

// retainFrom returns where the kept suffix of b starts (the start of its
// keptMessages-th last complete message, or the last boundary at or before
// len(b)-keep if that is earlier) and last, the end of its last complete
// message (0 if none). startsAtBoundary says b[0] starts a message; without it ok is
// false when b does not show a start for the suffix.
func (t *Tail) retainFrom(b []byte, startsAtBoundary bool) (from, last int, ok bool) {
	lastEnd := t.boundaryBefore(b, len(b))
	if lastEnd < 0 {
		return 0, 0, startsAtBoundary
	}
	// Where the last keptMessages complete messages start; blank lines and
	// comments do not count as messages.
	end := lastEnd
	for range keptMessages {
		from = t.boundaryBefore(b, end-1)
		for from > 0 && !t.holdsMessage(b[from:end]) {
			end = from
			from = t.boundaryBefore(b, end-1)
		}
		if from < 0 {
			break
		}
		end = from
	}
	if cut := len(b) - t.keep; from >= 0 && cut < from {
		from = -1
		if cut > 0 {
			from = t.boundaryBefore(b, cut)
		}
	}
	if from < 0 {
		if !startsAtBoundary {
			return 0, lastEnd, false
		}
		from = 0
	}
	return from, lastEnd, true
}

// boundaryBefore returns the last certain boundary at or before end in b,
// as the offset just after it, or -1.
func (t *Tail) boundaryBefore(b []byte, end int) int {
	for end > 0 {
		j := wordLastIndexByte(b[:end], '\n')
		if j < 0 {
			return -1
		}
		if t.ndjson || endsBlankLine(b, j) {
			return j + 1
		}
		end = j
	}
	return -1
}

// holdsMessage reports whether the bytes between two boundaries can hold a
// message: not only blank lines, and for SSE not only comments.
func (t *Tail) holdsMessage(seg []byte) bool {
	// Most messages show it by their first byte, without a search for the
	// end of their first line.
	if len(seg) > 0 && !isSpace(seg[0]) && (t.ndjson || seg[0] != ':') {
		return true
	}
	for len(seg) > 0 {
		line := seg
		if i := indexByte(seg, '\n'); i >= 0 {
			line, seg = seg[:i], seg[i+1:]
		} else {
			seg = nil
		}
		if !isBlank(line) && (t.ndjson || line[0] != ':') {
			return true
		}
	}
	return false
}
