package parsers

import (
	"bytes"
	"encoding/base64"

	"github.com/tidwall/gjson"
)

// AWS Bedrock InvokeModel (POST /model/{id}/invoke) and
// InvokeModelWithResponseStream (/invoke-with-response-stream, AWS
// eventstream), wire-formats §7.3, for Anthropic Claude models.
//
// Both carry the model's own format, so this parser is the Anthropic one
// (anthropic.go) behind a Bedrock front. A non-stream body is the Anthropic
// message JSON. A stream is "chunk" event frames whose payload
// {"bytes":"…"} holds one Anthropic event in base64; it is decoded into a
// reused buffer and handed to the Anthropic parser, so usage, completion,
// stop reason and in-band errors follow its rules (and Model is the model
// the Claude events name, if any; the proxy has Bedrock's id from the path).
//
// The last event also carries "amazon-bedrock-invocationMetrics", Bedrock's
// own count of the invocation (inputTokenCount, outputTokenCount,
// cacheReadInputTokenCount, cacheWriteInputTokenCount). It arrives last and
// is what Bedrock bills, so it is merged over the Anthropic figures by the
// usual rule (the latest report wins, field by field), with the same
// normalization: inputTokenCount excludes the cache. Every model family on
// Bedrock sends these metrics on its last chunk, so they also mark the
// stream Completed; for a family other than Claude they are the only usage
// this parser understands.
//
// Exception and error frames are errors (see bedrockTyped), and a Bedrock
// HTTP error body {"message":"…"} is one too (see bedrockErrorBody).

type bedrockInvoke struct {
	anthropic
	decoded []byte // the model event of the current chunk
}

func newBedrockInvoke() Parser { return &bedrockInvoke{} }

// metricsKey is the member that carries the invocation metrics; events
// without it are not parsed a second time.
const metricsKey = "amazon-bedrock-invocationMetrics"

var metricsKeyQuoted = []byte(`"` + metricsKey + `"`)

func (b *bedrockInvoke) Message(name, data []byte) Kind {
	if string(name) != "chunk" {
		return KindIgnored
	}
	src, k := chunkBytes(bytes.TrimSpace(data))
	if k != KindMeaningful {
		return k
	}
	if n := base64.StdEncoding.DecodedLen(len(src)); cap(b.decoded) < n {
		b.decoded = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(b.decoded[:cap(b.decoded)], src)
	if err != nil {
		return KindMalformed
	}
	ev := bytes.TrimSpace(b.decoded[:n])
	k = b.anthropic.Message(nil, ev)
	if k == KindMalformed || !bytes.Contains(ev, metricsKeyQuoted) {
		return k
	}
	if obj, ok := object(ev); ok {
		if m := obj.Get(metricsKey); m.IsObject() {
			invocationMetrics.read(&b.res.Usage, &b.input, m)
			b.res.Completed = true
			k = max(k, KindMeaningful)
		}
	}
	return k
}

// chunkPrefix starts a chunk payload as Bedrock serializes it.
var chunkPrefix = []byte(`{"bytes":"`)

// chunkBytes returns the base64 text of a chunk payload, {"bytes":"…"},
// with KindMeaningful, or the kind of a payload without one. The usual
// serialization is read without gjson: base64 holds no quote, so the text
// ends at the next one, and the frame's CRC vouches for the rest of the
// payload, which is not examined. Anything else (a reordering, an escape)
// is parsed.
func chunkBytes(d []byte) (src []byte, k Kind) {
	if rest, found := bytes.CutPrefix(d, chunkPrefix); found && d[len(d)-1] == '}' {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return rest[:i], KindMeaningful
		}
	}
	chunk, valid := object(d)
	if !valid {
		return nil, notObject(d)
	}
	enc := chunk.Get("bytes")
	if enc.Type != gjson.String {
		return nil, KindIgnored
	}
	return viewBytes(enc.Str), KindMeaningful
}

func (b *bedrockInvoke) TypedMessage(msgType, name, data []byte) Kind {
	return bedrockTyped(b, &b.res, msgType, name, data)
}

// Body reads a non-stream InvokeModel answer: Bedrock's error body, or the
// model's own message JSON.
func (b *bedrockInvoke) Body(data []byte) Kind {
	if body, ok := object(bytes.TrimSpace(data)); ok && body.Get("message").Type == gjson.String {
		return bedrockErrorBody(&b.res, body)
	}
	return b.anthropic.Body(data)
}
