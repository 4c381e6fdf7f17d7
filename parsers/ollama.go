package parsers

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Ollama's native API, /api/chat and /api/generate (wire-formats §8). It
// streams by default, as NDJSON: one object per line, "message" (chat) or
// "response" (generate) holding the next piece of text, and a last line with
// "done": true, "done_reason" and the metrics. With "stream": false the
// body is that last line alone, the whole answer included.
//
// Usage: InputTokens = prompt_eval_count, OutputTokens = eval_count, both
// only on the last line. Ollama omits any metric that is zero, and older
// versions omitted prompt_eval_count when the prompt came from the KV cache.
// Absent is not zero, but there is nothing better to put in InputTokens: a
// done line with eval_count and no prompt_eval_count is reported (Reported
// true) with InputTokens 0, and Raw, which then has no prompt_eval_count,
// shows that the input was not counted. prompt_eval_cached_count, proposed
// upstream but not released, is kept in Raw only: whether it is part of
// prompt_eval_count is not settled.
//
// Completion is "done": true; done_reason ("stop", "length", "load", …) is
// the FinishReason. An error is {"error":"…"}: the whole body of a failed
// request, or a line in the middle of a stream (HTTP status still 200). It
// has no type, so Type is "error" and the status 502.
//
// Model is the "model" every line repeats: the tag as requested.

type ollama struct {
	res Result
}

func newOllama() Parser { return &ollama{} }

// Fast path: every line of a stream but the last ends with "done":false.
// Once the model is known, such a line that names no error is a piece of
// text, which nothing in the Result depends on, and is reported meaningful
// without gjson. A line that ends so is only checked to be brace-delimited,
// so a broken one counts as meaningful rather than malformed; it cannot
// change the result either way.
var (
	ollamaContentEnd = []byte(`,"done":false}`)
	errorKey         = []byte(`"error"`)
)

func (o *ollama) Message(_, data []byte) Kind {
	d := bytes.TrimSpace(data)
	if !braced(d) {
		return notObject(d)
	}
	if o.res.Model != "" && bytes.HasSuffix(d, ollamaContentEnd) && !bytes.Contains(d, errorKey) {
		return KindMeaningful
	}
	line, ok := object(d)
	if !ok {
		return KindMalformed
	}
	return o.line(line)
}

// Body reads a non-stream answer, which is a done line, or an error.
func (o *ollama) Body(data []byte) Kind { return o.Message(nil, data) }

func (o *ollama) Result() *Result { return &o.res }

func (o *ollama) Reset() { o.res.reset() }

// line reads one line in a single pass over its members.
func (o *ollama) line(line gjson.Result) Kind {
	kind := KindIgnored
	var errv gjson.Result
	u := &o.res.Usage
	line.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			o.res.setModel(v.Str)
		case "message", "response", "created_at":
		case "done":
			if v.Type == gjson.True {
				o.res.Completed = true
			}
		case "done_reason":
			o.res.setFinishReason(v.Str)
		case "prompt_eval_count":
			u.take(&u.InputTokens, "prompt_eval_count", v)
		case "eval_count":
			u.take(&u.OutputTokens, "eval_count", v)
		case "prompt_eval_cached_count":
			u.note("prompt_eval_cached_count", v)
		case "error":
			errv = v
			return true
		default:
			return true
		}
		kind = KindMeaningful
		return true
	})
	u.settle()
	if errv.Type == gjson.String && errv.Str != "" {
		o.res.fail(providerError("", gjson.Result{}, errv.Str))
		return KindError
	}
	return kind
}
