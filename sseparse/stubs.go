package sseparse

// TEMPORARY: signatures fixed, bodies to be written (delete this file).

// SSE decodes text/event-stream bodies.
type SSE struct{}

// NewSSE returns an SSE decoder bounded by maxEventSize (<= 0: DefaultMaxEventSize).
func NewSSE(maxEventSize int) *SSE { panic("todo") }

// JSONArray frames a streamed JSON array into its top-level elements.
type JSONArray struct{}

// NewJSONArray returns a JSON array framer bounded by maxEventSize.
func NewJSONArray(maxEventSize int) *JSONArray { panic("todo") }

// NDJSON frames newline-delimited JSON into lines.
type NDJSON struct{}

// NewNDJSON returns an NDJSON framer bounded by maxEventSize.
func NewNDJSON(maxEventSize int) *NDJSON { panic("todo") }

func (*SSE) Feed([]byte)            {}
func (*SSE) Next(*Event) bool       { return false }
func (*SSE) Close()                 {}
func (*SSE) Err() error             { return nil }
func (*SSE) Stats() Stats           { return Stats{} }
func (*SSE) Reset()                 {}
func (*JSONArray) Feed([]byte)      {}
func (*JSONArray) Next(*Event) bool { return false }
func (*JSONArray) Close()           {}
func (*JSONArray) Err() error       { return nil }
func (*JSONArray) Stats() Stats     { return Stats{} }
func (*JSONArray) Reset()           {}
func (*NDJSON) Feed([]byte)         {}
func (*NDJSON) Next(*Event) bool    { return false }
func (*NDJSON) Close()              {}
func (*NDJSON) Err() error          { return nil }
func (*NDJSON) Stats() Stats        { return Stats{} }
func (*NDJSON) Reset()              {}
