package parsers

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Cohere v2 Chat (POST /v2/chat), wire-formats §9, streamed as SSE and not.
//
// A stream is message-start, content-*, tool-* and citation-* events, then
// message-end, whose delta holds finish_reason, usage and, when generation
// failed, error. The event: name repeats the JSON type; the JSON type
// decides, the name stands in when it is missing. Content events, most of a
// stream, are recognised without parsing.
//
// Usage is only in message-end's delta.usage (a non-stream body's top-level
// usage), twice: billed_units and tokens. tokens also counts the system
// preamble Cohere prepends to every prompt and does not bill, so the two
// differ (186 input tokens against 21 billed, in one trace). Platform teams
// bill on tokenmeter's numbers, so the normalized counts are the billed
// ones: InputTokens = billed_units.input_tokens, OutputTokens =
// billed_units.output_tokens. tokens, search_units and classifications
// stay in Raw. Cohere gives no total and no cache or reasoning figures.
//
// finish_reason is the FinishReason: COMPLETE, STOP_SEQUENCE, MAX_TOKENS
// and TOOL_CALL end a call normally; ERROR and TIMEOUT are failures,
// recorded as an error of that type with delta.error as its message (502
// and 504). message-end completes the stream either way, as a finish reason
// "error" does for OpenAI Chat: the stream reached its end, Err says how.
//
// A non-stream body is {"id","finish_reason","message":{…},"usage":{…}}:
// Completed unless its finish_reason is a failure. An HTTP error body is
// {"message":"…"}, a string where an answer has an object; it is an error
// of Type "error" (the proxy has the HTTP status).
//
// Cohere v2 names no model in its answers: Result.Model stays "".

type cohere struct {
	res Result
}

func newCohere() Parser { return &cohere{} }

// cohereContentPrefix starts the content-start/delta/end events as Cohere
// serializes them.
var cohereContentPrefix = []byte(`{"type":"content-`)

func (c *cohere) Message(name, data []byte) Kind {
	d := bytes.TrimSpace(data)
	if bytes.HasPrefix(d, cohereContentPrefix) && d[len(d)-1] == '}' {
		return KindMeaningful
	}
	if bytes.Equal(d, doneMarker) { // skipped by Cohere's SDK, so tolerated
		return KindIgnored
	}
	ev, ok := object(d)
	if !ok {
		return notObject(d)
	}
	typ := ev.Get("type").Str
	if typ == "" {
		typ = view(name)
	}
	switch typ {
	case "message-end":
		delta := ev.Get("delta")
		c.usage(delta.Get("usage"))
		c.res.Completed = true
		return c.finish(delta.Get("finish_reason").Str, delta.Get("error").Str)
	case "message-start", "content-start", "content-delta", "content-end",
		"tool-plan-delta", "tool-call-start", "tool-call-delta", "tool-call-end",
		"citation-start", "citation-end":
		return KindMeaningful
	}
	return KindIgnored // debug, and event types added after this was written
}

func (c *cohere) Body(data []byte) Kind {
	body, k, ok := bodyObject(data)
	if !ok {
		return k
	}
	if m := body.Get("message"); m.Type == gjson.String {
		c.res.fail(providerError("", gjson.Result{}, m.Str))
		return KindError
	}
	fr := body.Get("finish_reason")
	if !fr.Exists() {
		return KindIgnored
	}
	c.usage(body.Get("usage"))
	k = c.finish(fr.Str, "")
	c.res.Completed = k == KindMeaningful
	return k
}

func (c *cohere) Result() *Result { return &c.res }

func (c *cohere) Reset() { c.res.reset() }

// finish records a finish reason, and an error when it is a failure.
func (c *cohere) finish(reason, msg string) Kind {
	c.res.setFinishReason(reason)
	if reason == "ERROR" || reason == "TIMEOUT" {
		c.res.fail(providerError(reason, gjson.Result{}, msg))
		return KindError
	}
	return KindMeaningful
}

// cohereRawOnly are the usage figures kept in Raw beside the billed tokens.
// Wire paths double as Raw names.
var cohereRawOnly = [...]string{
	"tokens.input_tokens",
	"tokens.output_tokens",
	"billed_units.search_units",
	"billed_units.classifications",
}

// usage merges one usage object (see the file comment for the choice of
// billed_units).
func (c *cohere) usage(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	us := &c.res.Usage
	us.take(&us.InputTokens, "billed_units.input_tokens", u.Get("billed_units.input_tokens"))
	us.take(&us.OutputTokens, "billed_units.output_tokens", u.Get("billed_units.output_tokens"))
	for _, name := range cohereRawOnly {
		us.note(name, u.Get(name))
	}
	us.settle()
}
