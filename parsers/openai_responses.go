package parsers

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI Responses API (wire-formats §3), also served by Azure, xAI,
// OpenRouter and vLLM.
//
// A stream is SSE whose events name their type both in "event:" and in the
// JSON "type" member; the JSON type decides and the event name is the
// fallback. What the parser takes from it:
//
//   - Model from response.model on response.created/in_progress/queued and
//     on the terminal event.
//   - Usage from the terminal event's response.usage (input_tokens includes
//     cached tokens, output_tokens includes reasoning), with the same vendor
//     rules as Chat (openAIUsage).
//   - Completion from a terminal event: response.completed, the ChatGPT
//     backend's response.done, response.incomplete and response.failed. The
//     response's own status decides when it is terminal, else the event type
//     does. FinishReason is the status ("completed", "failed", "cancelled"),
//     or for "incomplete" the incomplete_details.reason ("max_output_tokens",
//     "content_filter"). As in Chat, Completed means the response ended, so
//     response.failed is Completed with Err set. A trailing [DONE], which
//     some proxies add, is ignored and completes nothing.
//   - Errors from response.failed (response.error, whose code becomes the
//     type) and from the "error" event in both its documented flat form
//     {type:"error",code,message} and the nested {type:"error",error:{...}}
//     seen live; the nested members win, the flat ones fill gaps.
//
// Kinds: the error event and response.failed are errors; every other
// "response.*" event is meaningful, including types this parser does not
// know; anything else (keep-alives, unknown events, [DONE]) is ignored.
//
// Fast path: of most events only the top-level "type" is read (it comes
// first on the wire, so gjson stops early); only the created/in-progress,
// terminal and error events are validated and parsed. Like Chat, a skipped
// event is only checked to be brace-delimited.
//
// Non-stream bodies: a terminal status completes the response except
// "failed", which is an error (the package contract completes only bodies
// that are not errors); "queued" and "in_progress" (background mode) are
// meaningful but not completed. A body with an error object and no status
// is the HTTP error envelope.
type openAIResponses struct {
	res   Result
	usage openAIUsage
}

func newOpenAIResponses() Parser { return &openAIResponses{} }

// respEvent is what the parser does with an event type.
type respEvent uint8

const (
	respIgnored  respEvent = iota // not a Responses event
	respProgress                  // a response.* event with nothing to read
	respStarted                   // carries the response, which names the model
	respTerminal                  // carries the final response
	respError                     // the error event
)

// classify maps an event type to what it means for metering and, for
// terminal events, the status the type implies.
func classify(t string) (respEvent, string) {
	switch t {
	case "error":
		return respError, ""
	case "response.completed", "response.done":
		return respTerminal, "completed"
	case "response.incomplete":
		return respTerminal, "incomplete"
	case "response.failed":
		return respTerminal, "failed"
	case "response.created", "response.in_progress", "response.queued":
		return respStarted, ""
	}
	if strings.HasPrefix(t, "response.") {
		return respProgress, ""
	}
	return respIgnored, ""
}

func (p *openAIResponses) Message(name, data []byte) Kind {
	d := bytes.TrimSpace(data)
	if bytes.Equal(d, doneMarker) {
		return KindIgnored
	}
	if !braced(d) {
		return notObject(d)
	}
	t := gjson.Get(view(d), "type")
	if t.Type != gjson.String {
		t.Str = view(name)
	}
	ev, implied := classify(t.Str)
	switch ev {
	case respIgnored:
		return KindIgnored
	case respProgress:
		return KindMeaningful
	}
	root, ok := object(d)
	if !ok {
		return KindMalformed
	}
	switch ev {
	case respError:
		return p.errorEvent(root)
	case respStarted:
		p.res.setModel(root.Get("response.model").Str)
		return KindMeaningful
	}
	return p.response(root.Get("response"), implied)
}

// Body reads a non-stream body: a response object, or the error envelope of
// an HTTP error. It is Completed when the response reached a terminal status
// other than "failed".
func (p *openAIResponses) Body(data []byte) Kind {
	root, ok := object(bytes.TrimSpace(data))
	if !ok {
		return KindMalformed
	}
	if e := root.Get("error"); e.IsObject() && !root.Get("status").Exists() {
		p.res.fail(readErrorFields(e).toError())
		return KindError
	}
	k := p.response(root, "")
	if k == KindError {
		p.res.Completed = false
	}
	return k
}

func (p *openAIResponses) Result() *Result { return &p.res }

func (p *openAIResponses) Reset() {
	p.res.reset()
	p.usage = openAIUsage{}
}

// response reads a final Response object, or a body. implied is the status
// a terminal event type stands for ("" for bodies); the object's own status
// wins when it is terminal.
func (p *openAIResponses) response(resp gjson.Result, implied string) Kind {
	var status, usage, errv, details gjson.Result
	resp.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			if v.Type == gjson.String {
				p.res.setModel(v.Str)
			}
		case "status":
			status = v
		case "usage":
			usage = v
		case "error":
			errv = v
		case "incomplete_details":
			details = v
		}
		return true
	})
	if usage.IsObject() {
		p.usage.read(&p.res, usage, &responsesUsage)
	}
	st := status.Str
	switch st {
	case "completed", "incomplete", "failed", "cancelled":
	default:
		if implied == "" {
			return KindMeaningful
		}
		st = implied
	}
	p.res.Completed = true
	if p.res.FinishReason == "" {
		reason := st
		if st == "incomplete" {
			if r := details.Get("reason"); r.Str != "" {
				reason = r.Str
			}
		}
		p.res.FinishReason = strings.Clone(reason)
	}
	if st != "failed" {
		return KindMeaningful
	}
	p.res.fail(readErrorFields(errv).toError())
	return KindError
}

// errorEvent reads the stream's error event, nested or flat. The flat
// form's "type" is the event type itself, so it is never the error type.
func (p *openAIResponses) errorEvent(root gjson.Result) Kind {
	f := readErrorFields(root.Get("error"))
	flat := readErrorFields(root)
	if f.code == "" {
		f.code, f.textCode, f.codeNum = flat.code, flat.textCode, flat.codeNum
	}
	if f.msg == "" {
		f.msg = flat.msg
	}
	p.res.fail(f.toError())
	return KindError
}
