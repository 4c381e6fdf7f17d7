package parsers

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Helpers shared by the Bedrock parsers (Converse and InvokeModel, wire-formats
// §1.5 and §7). Both stream over the AWS eventstream, whose exception and
// error frames are the same whatever the model API, both answer HTTP errors
// with the same body, and both count tokens the same way under different
// names.

// bedrockTyped routes one eventstream frame of parser p (whose Result is r)
// by its :message-type. Exceptions (modeled errors: throttlingException,
// validationException, modelStreamErrorException, …, with a JSON payload)
// and unmodeled errors (whose :error-message the decoder turns into the same
// {"message":…} payload) are errors; a message type AWS has not defined is
// skipped, as the AWS SDKs skip what they do not know.
func bedrockTyped(p Parser, r *Result, msgType, name, data []byte) Kind {
	switch string(msgType) {
	case "", "event":
		return p.Message(name, data)
	case "exception", "error":
		return bedrockError(r, name, data)
	}
	return KindIgnored
}

// bedrockError records an exception or error frame. Its type is the frame's
// name (:exception-type or :error-code) and decides the status (StatusFor:
// throttlingException 429, validationException 400, …); the message is the
// payload's "message". A payload that is not JSON does not make the frame
// any less of an error: it is recorded without a message.
func bedrockError(r *Result, name, data []byte) Kind {
	msg := ""
	if obj, ok := object(bytes.TrimSpace(data)); ok {
		msg = obj.Get("message").Str
	}
	r.fail(providerError(view(name), gjson.Result{}, msg))
	return KindError
}

// bedrockErrorBody records a non-stream body that reports a failure: a
// Bedrock HTTP error, {"message":"…"}, or an HTTP 200 body that lacks the
// answer. Bedrock puts the error's type in the x-amzn-ErrorType header,
// which a parser cannot see, so Type is the generic "error" and the status
// 502; the proxy has the real HTTP status.
func bedrockErrorBody(r *Result, body gjson.Result) Kind {
	r.fail(providerError("", gjson.Result{}, body.Get("message").Str))
	return KindError
}

// bedrockUsage names the token fields of one Bedrock usage object: the
// Converse usage and the invocation metrics of InvokeModelWithResponseStream.
// The names double as Raw names, so they must stay static strings.
type bedrockUsage struct {
	input, output, total, cacheRead, cacheWrite string
}

var (
	converseUsage = bedrockUsage{
		input: "inputTokens", output: "outputTokens", total: "totalTokens",
		cacheRead: "cacheReadInputTokens", cacheWrite: "cacheWriteInputTokens",
	}
	// invocationMetrics reports no total.
	invocationMetrics = bedrockUsage{
		input: "inputTokenCount", output: "outputTokenCount",
		cacheRead: "cacheReadInputTokenCount", cacheWrite: "cacheWriteInputTokenCount",
	}
)

// bedrockCacheTTL are the Raw names of Converse's cacheDetails entries, the
// cache writes split by lifetime, which are priced differently.
var bedrockCacheTTL = map[string]string{
	"5m": "cacheDetails.5m.inputTokens",
	"1h": "cacheDetails.1h.inputTokens",
}

// read merges one usage object into u in a single pass. Bedrock's input
// figure excludes the cache, like Anthropic's: input is the caller's
// uncached figure, and InputTokens adds the cache reads and writes to it.
func (n *bedrockUsage) read(u *Usage, input *uint64, obj gjson.Result) {
	if !obj.IsObject() {
		return
	}
	obj.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "":
		case n.input:
			u.take(input, n.input, v)
		case n.output:
			u.take(&u.OutputTokens, n.output, v)
		case n.total:
			u.take(&u.ProviderTotal, n.total, v)
		case n.cacheRead:
			u.take(&u.CacheReadTokens, n.cacheRead, v)
		case n.cacheWrite:
			u.take(&u.CacheCreationTokens, n.cacheWrite, v)
		case "cacheDetails":
			v.ForEach(func(_, d gjson.Result) bool {
				if name, ok := bedrockCacheTTL[d.Get("ttl").Str]; ok {
					u.note(name, d.Get("inputTokens"))
				}
				return true
			})
		}
		return true
	})
	u.settleUncached(*input)
}
