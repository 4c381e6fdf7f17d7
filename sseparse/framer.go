// Package sseparse cuts LLM response bodies into messages, incrementally and
// exactly, whatever the chunking: Server-Sent Events (WHATWG rules plus the
// leniencies real LLM endpoints need), streamed JSON arrays, NDJSON and the
// AWS binary event stream.
//
// All framers are push-driven and made for a proxy that sees the body in
// pieces: call Feed with each chunk, then Next until it returns false, then
// Feed the next chunk. At end of stream call Close and drain Next once more.
//
// Ownership: Feed keeps a reference to the chunk until Next has returned
// false, so the caller must not modify it before then. The slices in an Event
// alias the fed chunk or the framer's internal buffer and stay valid only
// until the next call to Next, Feed, Close or Reset; copy what must outlive
// that.
//
// Tail is the companion of the SSE and NDJSON framers for a proxy that
// parses only a stream's head and end: it keeps the end of a stream from a
// message boundary, and the framer frames that when the stream ends.
//
// Memory is bounded by the maximum event size given at construction: a
// message larger than it is dropped (counted in Stats.Oversize) and framing
// resumes at the next message boundary. Each buffer a framer owns is bounded
// by that size, and a framer owns a few: JSONArray and NDJSON one (about
// max), EventStream two (the frame and a synthesized error payload: about
// 2×max), SSE four (the unfinished line, the type, the data and the last ID:
// about 4×max). Nothing grows with the stream's length. Framers are not safe
// for concurrent use; use one per stream.
package sseparse

import "errors"

// DefaultMaxEventSize bounds one message when the caller has no opinion:
// large enough for a Responses API response.completed event carrying a long
// answer, small enough to keep per-stream memory predictable.
const DefaultMaxEventSize = 1 << 20

// ErrEventTooLarge is reported by Err after a message larger than the
// maximum event size was dropped, so callers can log one fixed value.
var ErrEventTooLarge = errors.New("sseparse: event exceeds the maximum event size")

// Event is one framed message. For SSE it is a dispatched event; for a JSON
// array one top-level element; for NDJSON one non-empty line; for the AWS
// event stream one frame. Its slices alias framer memory (see the package
// comment).
type Event struct {
	// Name is the SSE event type ("" when the stream gave none; the WHATWG
	// default "message" is not filled in), or the eventstream frame's type
	// (see EventStream). Nil for other framings.
	Name []byte
	// Data is the SSE data (data lines joined with "\n"), the JSON element,
	// the NDJSON line without its line terminator, or the eventstream
	// frame's payload.
	Data []byte
	// MessageType is set by the eventstream framer only, to the frame's
	// :message-type when it is not "event" ("exception" or "error"): the
	// name alone cannot tell an exception from an event. Nil, the value
	// every other framer leaves, means an ordinary event.
	MessageType []byte
	// ID is the SSE last-event-id in force for this event, if any.
	ID []byte
	// Retry is the SSE reconnection time in milliseconds from this event's
	// retry field, or -1 when the event had none.
	Retry int64
	// Raw is true for an SSE message that arrived as a bare JSON object
	// without a "data:" prefix (Gemini drops error objects into streams so).
	Raw bool
}

// Stats counts what a framer saw; callers turn it into metrics.
type Stats struct {
	Events       uint64 // messages returned by Next
	Oversize     uint64 // messages dropped for exceeding the maximum size
	Malformed    uint64 // bytes that fit no message (e.g. junk between array elements); frames for the eventstream
	Unterminated bool   // the last message was flushed by Close without a terminator
}

// Framer is the common shape of every decoder here, so that a proxy can
// choose one per response and drive it the same way.
type Framer interface {
	// Feed hands the framer the next chunk of the body.
	Feed(chunk []byte)
	// Next fills ev with the next complete message and reports whether
	// there was one.
	Next(ev *Event) bool
	// Close marks the end of the body; Next then yields a complete
	// trailing message that had no terminator.
	Close()
	// Err returns ErrEventTooLarge once a message has been dropped, else nil.
	Err() error
	// Stats returns the counters so far.
	Stats() Stats
	// Reset makes the framer ready for a new body, keeping its buffers.
	Reset()
}
