package parsers

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Anthropic Messages API (POST /v1/messages), streamed and not; the same
// events come from Claude on Vertex and, unwrapped, on Bedrock.
//
// A stream is message_start (model, input and cache counts, a placeholder
// output_tokens), content_block_* events, message_delta (stop_reason and
// cumulative usage) and message_stop, with ping and error events anywhere.
// Usage is merged field by field: message_delta overrides only the fields
// it carries, so third-party endpoints that report zeros in message_start
// and Bedrock/Vertex that send only output_tokens in message_delta both come
// out right, and message_delta's input_tokens (which grows during server-tool
// loops) wins over message_start's. Nothing is ever added up: the placeholder
// output_tokens of message_start is simply overwritten.
//
// Normalization: InputTokens = input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens (Anthropic's input_tokens excludes the cache);
// OutputTokens = output_tokens, which already includes thinking;
// ReasoningTokens = output_tokens_details.thinking_tokens when reported.
// Anthropic gives no total of its own. Raw also keeps the 5m/1h cache-write
// split and the server-tool request counts, which are priced separately.
//
// An interrupted stream keeps what it had: after message_start alone the
// output figure is still the placeholder, and Completed stays false.

type anthropic struct {
	res Result
	// input is the uncached input_tokens figure; InputTokens adds the two
	// cache figures to it.
	input uint64
}

func newAnthropic() Parser { return &anthropic{} }

// contentBlockPrefix starts every content_block_start/delta/stop event as
// Anthropic serializes them. They are most of a stream and carry nothing
// the Result needs, so they are recognised without parsing.
var contentBlockPrefix = []byte(`{"type":"content_block_`)

func (a *anthropic) Message(name, data []byte) Kind {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return KindIgnored
	}
	// The closing brace catches an event truncated by a cut stream.
	if bytes.HasPrefix(data, contentBlockPrefix) && data[len(data)-1] == '}' {
		return KindMeaningful
	}
	ev, ok := object(data)
	if !ok {
		return KindMalformed
	}
	typ := ev.Get("type").Str
	if typ == "" {
		typ = view(name)
	}
	switch typ {
	case "message_start":
		a.message(ev.Get("message"))
	case "message_delta":
		a.res.setFinishReason(ev.Get("delta.stop_reason").Str)
		a.usage(ev.Get("usage"))
	case "message_stop":
		a.res.Completed = true
	case "content_block_start", "content_block_delta", "content_block_stop":
	case "error":
		return a.fail(ev.Get("error"))
	default: // ping, and event types added after this was written
		return KindIgnored
	}
	return KindMeaningful
}

func (a *anthropic) Body(data []byte) Kind {
	msg, k, ok := bodyObject(data)
	if !ok {
		return k
	}
	if e := msg.Get("error"); e.IsObject() {
		return a.fail(e)
	}
	if msg.Get("type").Str != "message" {
		return KindIgnored
	}
	a.message(msg)
	a.res.setFinishReason(msg.Get("stop_reason").Str)
	a.res.Completed = true
	return KindMeaningful
}

func (a *anthropic) Result() *Result { return &a.res }

func (a *anthropic) Reset() {
	a.res.reset()
	a.input = 0
}

// message reads what a message object (message_start's or a whole
// non-stream body) says about the model and usage.
func (a *anthropic) message(msg gjson.Result) {
	a.res.setModel(msg.Get("model").Str)
	a.usage(msg.Get("usage"))
}

// anthropicRawOnly are usage figures with no normalized field that pricing
// still needs: the cache-write split by TTL and the server-tool requests.
var anthropicRawOnly = [...]string{
	"cache_creation.ephemeral_5m_input_tokens",
	"cache_creation.ephemeral_1h_input_tokens",
	"server_tool_use.web_search_requests",
	"server_tool_use.web_fetch_requests",
}

// usage merges one usage object: each field present overrides, absent
// fields leave the earlier value alone. Wire names double as gjson paths.
func (a *anthropic) usage(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	us := &a.res.Usage
	take := func(dst *uint64, name string) { us.take(dst, name, u.Get(name)) }
	take(&a.input, "input_tokens")
	take(&us.CacheReadTokens, "cache_read_input_tokens")
	take(&us.CacheCreationTokens, "cache_creation_input_tokens")
	take(&us.OutputTokens, "output_tokens")
	take(&us.ReasoningTokens, "output_tokens_details.thinking_tokens")
	for _, name := range anthropicRawOnly {
		us.note(name, u.Get(name))
	}
	us.settleUncached(a.input)
}

// fail records an error object ({"type":"overloaded_error","message":…});
// the status comes from its type, as Anthropic gives no numeric code.
func (a *anthropic) fail(e gjson.Result) Kind {
	a.res.fail(providerError(e.Get("type").Str, gjson.Result{}, e.Get("message").Str))
	return KindError
}
