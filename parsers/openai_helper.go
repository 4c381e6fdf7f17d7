package parsers

import (
	"strings"

	"github.com/tidwall/gjson"
)

// Helpers shared by the OpenAI Chat and Responses parsers. Both APIs, and the
// vendors that copy them, use the same error envelope and the same usage
// conventions under different field names, so both parsers read them here.

// fallbackErrorType is Error.Type when the provider names neither a type nor
// a string code (OpenRouter's {"code":502,...}, Mistral's finish_reason
// "error"), so that a recorded error never has an empty Type.
const fallbackErrorType = "error"

// doneMarker is the OpenAI end-of-stream sentinel; it is not JSON.
var doneMarker = []byte("[DONE]")

// braced is the cheap shape check made before skipping gjson: an event that
// does not even start and end like an object is examined by notObject.
func braced(d []byte) bool {
	return len(d) >= 2 && d[0] == '{' && d[len(d)-1] == '}'
}

// notObject classifies a message that is not a JSON object: nothing or valid
// non-object JSON (such as "null") carries no information; anything else was
// meant to be JSON and is broken.
func notObject(d []byte) Kind {
	if len(d) == 0 || gjson.Valid(view(d)) {
		return KindIgnored
	}
	return KindMalformed
}

// setVendor records an OpenAI-compatible vendor; the first one recognised
// wins, so a router (OpenRouter) is not renamed after the upstream it used.
func (r *Result) setVendor(v string) {
	if r.Vendor == "" {
		r.Vendor = v
	}
}

// usageDialect names the usage fields of one OpenAI API. The names are also
// the Raw names, so they must stay static strings.
type usageDialect struct {
	input, output, total        string // top-level keys
	inputDetails, outputDetails string // keys of the detail objects
	cached, cacheWrite          string // Raw names of the input details
	reasoning                   string // Raw name of the output detail
}

var chatUsage = usageDialect{
	input: "prompt_tokens", output: "completion_tokens", total: "total_tokens",
	inputDetails: "prompt_tokens_details", outputDetails: "completion_tokens_details",
	cached:     "prompt_tokens_details.cached_tokens",
	cacheWrite: "prompt_tokens_details.cache_write_tokens",
	reasoning:  "completion_tokens_details.reasoning_tokens",
}

var responsesUsage = usageDialect{
	input: "input_tokens", output: "output_tokens", total: "total_tokens",
	inputDetails: "input_tokens_details", outputDetails: "output_tokens_details",
	cached:     "input_tokens_details.cached_tokens",
	cacheWrite: "input_tokens_details.cache_write_tokens",
	reasoning:  "output_tokens_details.reasoning_tokens",
}

// openAIUsage merges the usage objects of one response into Result.Usage.
//
// Vendor rules (wire-formats §10, §11): DeepSeek's prompt_cache_hit_tokens is
// the cache read; OpenRouter's cost is the price; xAI's completion count
// excludes reasoning, which is recognised when the provider's total equals
// input + output + reasoning and not input + output, and then added to
// OutputTokens.
type openAIUsage struct {
	output uint64 // the provider's output figure before the xAI correction
}

// read merges one usage object; it reads the object in one pass.
func (o *openAIUsage) read(r *Result, obj gjson.Result, d *usageDialect) {
	u := &r.Usage
	obj.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case d.input:
			u.take(&u.InputTokens, d.input, v)
		case d.output:
			u.take(&o.output, d.output, v)
		case d.total:
			u.take(&u.ProviderTotal, d.total, v)
		case d.inputDetails:
			if v.IsObject() {
				v.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "cached_tokens":
						u.take(&u.CacheReadTokens, d.cached, v)
					case "cache_write_tokens":
						u.take(&u.CacheCreationTokens, d.cacheWrite, v)
					}
					return true
				})
			}
		case d.outputDetails:
			if v.IsObject() {
				u.take(&u.ReasoningTokens, d.reasoning, v.Get("reasoning_tokens"))
			}
		case "prompt_cache_hit_tokens":
			if n, ok := u.note("prompt_cache_hit_tokens", v); ok {
				keep(&u.CacheReadTokens, n)
				r.setVendor("deepseek")
			}
		case "prompt_cache_miss_tokens":
			u.note("prompt_cache_miss_tokens", v)
		case "cost":
			if v.Type == gjson.Number {
				if v.Num != 0 || !u.CostReported {
					u.Cost = v.Num
				}
				u.CostReported = true
				r.setVendor("openrouter")
			}
		case "cost_in_usd_ticks":
			if _, ok := u.note("cost_in_usd_ticks", v); ok {
				r.setVendor("xai")
			}
		}
		return true
	})
	u.OutputTokens = o.output
	if t := u.InputTokens + o.output; u.ReasoningTokens != 0 && u.ProviderTotal != t && u.ProviderTotal == t+u.ReasoningTokens {
		u.OutputTokens += u.ReasoningTokens
		r.setVendor("xai")
	}
	u.settle()
}

// errorFields is an OpenAI-style error as found on the wire, before it is
// turned into an Error by toError (Type) and httpStatus (Status).
type errorFields struct {
	typ, msg string
	code     string // code as text, string or number
	textCode bool   // code was a string ("rate_limit_exceeded"), not a number
	codeNum  int    // numeric code (OpenRouter, vLLM)
	status   int    // Azure's status member
}

// readErrorFields reads the inner object of the {"error":{...}} envelope,
// or a flat error object (vLLM's older {"object":"error",...}). A bare string
// is taken as the message.
func readErrorFields(v gjson.Result) (f errorFields) {
	if v.Type == gjson.String {
		f.msg = v.Str
		return f
	}
	if !v.IsObject() {
		return f
	}
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			if v.Type == gjson.String {
				f.typ = v.Str
			}
		case "message":
			if v.Type == gjson.String {
				f.msg = v.Str
			}
		case "code":
			switch v.Type {
			case gjson.String:
				f.code, f.textCode = v.Str, true
			case gjson.Number:
				f.code, f.codeNum = v.Raw, int(v.Int())
			}
		case "status":
			if v.Type == gjson.Number {
				f.status = int(v.Int())
			}
		}
		return true
	})
	return f
}

// toError builds the recorded Error. Type falls back to a string code (the
// Responses API's response.error has only a code) and then to
// fallbackErrorType.
func (f errorFields) toError() Error {
	typ := f.typ
	if typ == "" && f.textCode {
		typ = f.code
	}
	if typ == "" {
		typ = fallbackErrorType
	}
	return Error{
		Type:    strings.Clone(typ),
		Code:    strings.Clone(f.code),
		Message: strings.Clone(truncate(f.msg)),
		Status:  f.httpStatus(),
	}
}

// httpStatus picks the status from the most specific evidence: a numeric
// code (OpenRouter, vLLM) or Azure's status member when it is an HTTP error
// status, then a string code StatusFor recognises, then the type. The code
// comes before the type because OpenAI's types are coarse: a bad API key is
// type "invalid_request_error" with code "invalid_api_key" (401), a rate
// limit type "tokens" with code "rate_limit_exceeded" (429).
func (f errorFields) httpStatus() int {
	for _, n := range [...]int{f.codeNum, f.status} {
		if n >= 400 && n <= 599 {
			return n
		}
	}
	if s := StatusFor(0, f.code); f.textCode && s != 502 {
		return s
	}
	return StatusFor(0, f.typ)
}
