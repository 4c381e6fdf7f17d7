package sseparse

import (
	"encoding/binary"
	"hash/crc32"
)

// EventStream decodes the AWS binary event stream
// (application/vnd.amazon.eventstream) that Bedrock's ConverseStream and
// InvokeModelWithResponseStream answer with: binary frames back to back,
// integers big-endian.
//
//	offset  size  field
//	0       4     total frame length, both CRCs included
//	4       4     headers length
//	8       4     prelude CRC: CRC-32 (IEEE) of bytes 0-7
//	12      H     headers: name length (1), name, value type (1), value
//	12+H    ...   payload
//	total-4 4     message CRC: CRC-32 of every byte before it
//
// Header value types 0-9 are understood (bools carry no value; byte, int16,
// int32, int64, timestamp and UUID have fixed sizes; byte arrays and strings
// a 2-byte length); only string and byte-array values are read.
//
// Each frame becomes one Event:
//
//   - :message-type "event" (or none): Name is :event-type ("messageStart",
//     "contentBlockDelta", "metadata", "chunk", …), Data the payload,
//     MessageType nil.
//   - "exception" (a modeled error such as throttlingException): Name is
//     :exception-type, Data the payload ({"message":"…"}), MessageType
//     "exception".
//   - "error" (an unmodeled error): Name is :error-code and, as the message
//     travels in the :error-message header rather than the payload, Data is
//     synthesized as {"message":"…"} (cut to fit the maximum event size), so
//     consumers read both kinds of error the same way. MessageType "error".
//   - any other message type: as an event, with MessageType set to it.
//
// Both CRCs are checked. A frame that fails a check is dropped and counted
// in Stats.Malformed, and decoding resynchronizes: when the prelude CRC
// held, the declared length is trusted and skipped, as only the rest of the
// frame is damaged; when it did not (or the lengths contradict each other),
// nothing about the frame can be trusted, so decoding advances one byte and
// looks for a valid prelude there. A run of such bytes counts once. A frame
// cut off by the end of the body is counted as Malformed too, never emitted.
//
// The maximum event size bounds a whole frame. A frame declaring more is
// skipped without being buffered (Stats.Oversize, ErrEventTooLarge). A
// frame that lies inside one chunk is returned without copying; only one
// that straddles chunks is assembled in a buffer bounded by the maximum.
type EventStream struct {
	max   int
	chunk []byte
	pos   int

	buf  []byte // the start of a frame that straddles chunks
	want int    // the length of the frame in buf once its prelude is read
	used bool   // the last event aliased buf: clear it on the next call
	skip int    // bytes of an oversize frame still to drop
	junk bool   // inside a run of bytes that start no valid frame

	errData []byte // Data synthesized for an error frame

	closed, done bool
	stats        Stats
	err          error
}

const (
	esPrelude  = 12             // total length, headers length, prelude CRC
	esMinFrame = esPrelude + 4  // a frame with no headers and no payload
	esErrOpen  = `{"message":"` // the synthesized error payload …
	esErrClose = `"}`           // … around the escaped :error-message
)

// NewEventStream returns an eventstream decoder that drops frames longer
// than maxFrameSize bytes (<= 0: DefaultMaxEventSize; raised to 16, the
// smallest frame, so that a partial prelude always fits the bound).
func NewEventStream(maxFrameSize int) *EventStream {
	if maxFrameSize <= 0 {
		maxFrameSize = DefaultMaxEventSize
	}
	return &EventStream{max: max(maxFrameSize, esMinFrame)}
}

// Feed hands the decoder the next chunk; it is read, not copied, by Next.
func (s *EventStream) Feed(chunk []byte) { s.chunk, s.pos = chunk, 0 }

// Next fills ev with the next valid frame and reports whether there was one.
func (s *EventStream) Next(ev *Event) bool {
	if s.used {
		s.buf, s.used = s.buf[:0], false
	}
	for {
		if s.skip > 0 {
			n := min(s.skip, len(s.chunk)-s.pos)
			s.pos += n
			s.skip -= n
		}
		rest := s.chunk[s.pos:]
		if len(rest) == 0 || s.skip > 0 {
			s.end()
			return false
		}
		if len(s.buf) > 0 {
			if s.assemble(ev, rest) {
				return true
			}
			continue
		}
		if len(rest) < esPrelude {
			s.stash(rest)
			continue
		}
		total, ok := s.prelude(rest)
		switch {
		case !ok:
			s.pos++
		case total == 0: // oversize: skip counts from this prelude on
		case total > len(rest):
			s.want = total
			s.stash(rest)
		default:
			s.pos += total
			if s.frame(ev, rest[:total]) {
				return true
			}
		}
	}
}

// assemble moves the bytes of rest that the frame begun in buf still needs
// into buf, and decodes the frame once it is whole.
func (s *EventStream) assemble(ev *Event, rest []byte) bool {
	need := esPrelude
	if s.want > 0 {
		need = s.want
	}
	take := min(need-len(s.buf), len(rest))
	s.buf = appendCapped(s.buf, rest[:take], s.max)
	s.pos += take
	if len(s.buf) < need {
		return false
	}
	if s.want == 0 {
		total, ok := s.prelude(s.buf)
		switch {
		case !ok:
			s.buf = s.buf[:copy(s.buf, s.buf[1:])]
		case total == 0: // oversize: the prelude in buf is already consumed
			s.skip -= esPrelude
			s.buf = s.buf[:0]
		default:
			s.want = total
		}
		return false
	}
	s.want = 0
	if s.frame(ev, s.buf) {
		s.used = true
		return true
	}
	s.buf = s.buf[:0]
	return false
}

// prelude checks the 12-byte prelude at the start of p and returns the
// frame's total length. ok is false when the bytes cannot start a frame (bad
// CRC, or lengths that contradict each other). A frame over the maximum
// returns 0 and sets skip to its whole length, prelude included.
func (s *EventStream) prelude(p []byte) (total int, ok bool) {
	n := binary.BigEndian.Uint32(p)
	h := binary.BigEndian.Uint32(p[4:])
	if crc32.ChecksumIEEE(p[:8]) != binary.BigEndian.Uint32(p[8:]) || n < esMinFrame || h > n-esMinFrame {
		if !s.junk {
			s.junk = true
			s.stats.Malformed++
		}
		return 0, false
	}
	s.junk = false
	if uint64(n) > uint64(s.max) {
		s.stats.Oversize++
		s.err = ErrEventTooLarge
		s.skip = int(n)
		return 0, true
	}
	return int(n), true
}

// stash keeps the unfinished frame start p, the rest of the chunk, in buf.
func (s *EventStream) stash(p []byte) {
	s.buf = appendCapped(s.buf, p, s.max)
	s.pos += len(p)
}

// frame checks the message CRC of one whole frame and fills ev from it.
func (s *EventStream) frame(ev *Event, f []byte) bool {
	end := len(f) - 4
	if crc32.ChecksumIEEE(f[:end]) != binary.BigEndian.Uint32(f[end:]) {
		s.stats.Malformed++
		return false
	}
	hl := int(binary.BigEndian.Uint32(f[4:]))
	var h esHeaders
	if !h.read(f[esPrelude : esPrelude+hl]) {
		s.stats.Malformed++
		return false
	}
	*ev = Event{Name: h.eventType, Data: f[esPrelude+hl : end], Retry: -1}
	switch string(h.messageType) {
	case "", "event":
	case "exception":
		ev.Name, ev.MessageType = h.exceptionType, h.messageType
	case "error":
		ev.Name, ev.MessageType = h.errorCode, h.messageType
		ev.Data = s.errorData(h.errorMessage)
	default:
		ev.MessageType = h.messageType
	}
	s.stats.Events++
	return true
}

// errorData builds {"message":"…"} from an :error-message header value in
// a reused buffer, cut (at a character boundary of the escaped form) so that
// it fits the maximum event size like every other Data.
func (s *EventStream) errorData(msg []byte) []byte {
	room := s.max - len(esErrOpen) - len(esErrClose)
	if n := min(len(esErrOpen)+6*len(msg)+len(esErrClose), s.max); cap(s.errData) < n {
		s.errData = make([]byte, 0, n)
	}
	b := append(s.errData[:0], esErrOpen...)
	const hex = "0123456789abcdef"
	for _, c := range msg {
		var esc [6]byte
		e := esc[:1]
		switch {
		case c == '"' || c == '\\':
			e = append(esc[:0], '\\', c)
		case c < 0x20:
			e = append(esc[:0], '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			esc[0] = c
		}
		if len(b)-len(esErrOpen)+len(e) > room {
			break
		}
		b = append(b, e...)
	}
	s.errData = append(b, esErrClose...)
	return s.errData
}

// esHeaders are the header values a frame is mapped by.
type esHeaders struct {
	messageType, eventType, exceptionType, errorCode, errorMessage []byte
}

// esValueSize is the size of each fixed-size header value type; -1 marks
// the two types with a 2-byte length prefix (byte array, string).
var esValueSize = [...]int{0, 0, 1, 2, 4, 8, -1, -1, 8, 16}

// read walks the headers block p and reports whether it is well-formed.
func (h *esHeaders) read(p []byte) bool {
	for len(p) > 0 {
		n := int(p[0])
		if len(p) < n+2 {
			return false
		}
		name, typ := p[1:1+n], int(p[1+n])
		p = p[n+2:]
		if typ >= len(esValueSize) {
			return false
		}
		size := esValueSize[typ]
		var value []byte
		if size < 0 {
			if len(p) < 2 {
				return false
			}
			size = int(binary.BigEndian.Uint16(p))
			p = p[2:]
			if len(p) >= size {
				value = p[:size]
			}
		}
		if len(p) < size {
			return false
		}
		p = p[size:]
		if value == nil {
			continue
		}
		switch string(name) {
		case ":message-type":
			h.messageType = value
		case ":event-type":
			h.eventType = value
		case ":exception-type":
			h.exceptionType = value
		case ":error-code":
			h.errorCode = value
		case ":error-message":
			h.errorMessage = value
		}
	}
	return true
}

// end handles the end of the body once Close was called: a frame begun
// but not finished is counted as Malformed (unless it is the tail of a run
// of junk, already counted).
func (s *EventStream) end() {
	if !s.closed || s.done {
		return
	}
	s.done = true
	if s.want > 0 || len(s.buf) > 0 && !s.junk {
		s.stats.Malformed++
	}
	s.buf, s.want = s.buf[:0], 0
}

// Close marks the end of the body. No frame can be completed by it, but
// Next then accounts for a frame cut off by the end (Stats.Malformed).
func (s *EventStream) Close() { s.closed = true }

// Err returns ErrEventTooLarge once a frame has been dropped for its size,
// else nil.
func (s *EventStream) Err() error { return s.err }

// Stats returns the counters so far.
func (s *EventStream) Stats() Stats { return s.stats }

// Reset makes the decoder ready for a new body, keeping its buffers.
func (s *EventStream) Reset() {
	*s = EventStream{max: s.max, buf: s.buf[:0], errData: s.errData[:0]}
}

// bufCap is the capacity of the decoder's buffers, for tests of the memory
// bound.
func (s *EventStream) bufCap() int { return cap(s.buf) + cap(s.errData) }
