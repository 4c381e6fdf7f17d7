package parsers

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"
)

// Google Gemini API and Vertex AI generateContent / streamGenerateContent,
// non-stream, as SSE (alt=sse) or as a streamed JSON array. Every message is
// a whole GenerateContentResponse, so one code path serves all three.
//
// usageMetadata rides on many chunks as cumulative snapshots: the latest
// value of each field wins (even when it goes down), a later chunk that
// omits a field (proto3 drops zeros) keeps the earlier value, and nothing is
// summed. Normalization: InputTokens = promptTokenCount +
// toolUsePromptTokenCount (tool results are outside the prompt count);
// OutputTokens = candidatesTokenCount + thoughtsTokenCount (candidates
// excludes thinking); ReasoningTokens = thoughtsTokenCount; CacheReadTokens
// = cachedContentTokenCount (already inside promptTokenCount);
// ProviderTotal = totalTokenCount, checked against ours.
//
// A stream is completed by the first finishReason any candidate reports,
// kept verbatim (STOP, MAX_TOKENS, SAFETY, …); a whole non-stream body that
// is not an error is complete in itself. The closing "]" of a streamed JSON
// array never reaches a parser (the framer consumes it), so an array stream
// that ends without a finishReason is left to the caller to judge.
//
// A prompt blocked with HTTP 200 (no candidates, promptFeedback.blockReason)
// is a finished call, not a transport error: Google answered and bills the
// prompt. It is recorded as Completed with FinishReason
// "prompt_blocked:<blockReason>" and KindMeaningful, so a proxy forwards it
// as the 200 it is while the record still shows why nothing was generated.
//
// Errors are {"error":{"code","message","status"}}: as a JSON-array
// element, as SSE data, as a raw object the SSE framer passes on, or, from
// Vertex, wrapped in a one-element array; the numeric code is the status.
//
// Vendor is "vertex" when the body shows Vertex-only fields (createTime,
// usageMetadata.trafficType) and "" otherwise: the API already says Google,
// and Vertex is the distinction worth a label.
//
// Fast path: a streamed chunk is mostly candidate text, and all a parser
// takes from nearly every chunk is usageMetadata. quickResponse reads such a
// chunk with walkObject (see geminiNotes for when it declines) and parses
// only usageMetadata and, until the model is known, modelVersion; every
// other chunk, and any walkObject does not vouch for, takes the full path.

type gemini struct {
	res Result
	// The figures the normalized counts are sums of. thoughtsTokenCount
	// lives in Usage.ReasoningTokens.
	prompt, toolUse, candidates uint64
	// slow turns the fast path off, for the tests that compare the paths.
	slow bool
}

func newGemini() Parser { return &gemini{} }

// Message ignores name: Gemini's SSE events have none.
func (g *gemini) Message(_, data []byte) Kind {
	return g.value(data)
}

func (g *gemini) Body(data []byte) Kind {
	k := g.value(data)
	if k == KindMeaningful {
		g.res.Completed = true
	}
	return k
}

func (g *gemini) Result() *Result { return &g.res }

func (g *gemini) Reset() {
	g.res.reset()
	g.prompt, g.toolUse, g.candidates = 0, 0, 0
}

// value consumes one response object, or an array of them: a whole
// streamed body read at once, or Vertex's array-wrapped error.
func (g *gemini) value(data []byte) Kind {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return KindIgnored
	}
	if data[0] != '[' {
		if k, ok := g.quickResponse(data); ok {
			return k
		}
		r, ok := object(data)
		if !ok {
			return KindMalformed
		}
		return g.response(r)
	}
	if !gjson.ValidBytes(data) {
		return KindMalformed
	}
	kind := KindIgnored
	gjson.Parse(view(data)).ForEach(func(_, el gjson.Result) bool {
		if el.IsObject() {
			kind = max(kind, g.response(el))
		}
		return true
	})
	return kind
}

// response reads one GenerateContentResponse (or error object) in a single
// pass over its top-level keys. The result is KindError if it holds an
// error, else KindMeaningful if it holds anything Gemini sends.
func (g *gemini) response(r gjson.Result) Kind {
	kind := KindIgnored
	r.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "error":
			if v.IsObject() {
				g.res.fail(providerError(v.Get("status").Str, v.Get("code"), v.Get("message").Str))
				kind = KindError
			}
			return true
		case "candidates":
			// Only the last chunk has a finishReason; skip the scan elsewhere.
			if strings.Contains(v.Raw, `"finishReason"`) {
				g.finish(v)
			}
		case "usageMetadata":
			g.usage(v)
		case "promptFeedback":
			g.blocked(v.Get("blockReason").Str)
		case "modelVersion":
			g.res.setModel(v.Str)
		case "createTime":
			g.res.Vendor = "vertex"
		default:
			return true // a field nothing here depends on
		}
		kind = max(kind, KindMeaningful)
		return true
	})
	return kind
}

// geminiNotes is what walkObject found in a chunk for quickResponse.
type geminiNotes struct {
	usage, model []byte // raw values of the top-level members
	candidates   bool
	// fields are the members of the top-level object being read (at
	// depth 2; walkObject visits them before the object's own member), and
	// after usageMetadata, its members, so that it is not walked again.
	fields  [maxUsageFields]rawMember
	nfields int
}

// maxUsageFields bounds the members of usageMetadata the fast path reads;
// Gemini sends up to ten.
const maxUsageFields = 16

type rawMember struct{ key, value []byte }

// note records one member. It stops the walk, sending the chunk down the
// full path, at what only that path handles (the members error,
// promptFeedback and createTime, a finishReason at any depth) and at a
// repeated member, whose effect depends on order.
func (n *geminiNotes) note(depth int, key, value []byte) bool {
	if depth > 1 {
		if depth == 2 && n.usage == nil {
			if n.nfields < len(n.fields) {
				n.fields[n.nfields] = rawMember{key, value}
			}
			n.nfields++
		}
		return string(key) != "finishReason"
	}
	fields := n.nfields
	if n.usage == nil {
		n.nfields = 0
	}
	switch string(key) {
	case "usageMetadata":
		if n.usage != nil || value[0] != '{' || fields > len(n.fields) {
			return false
		}
		n.usage, n.nfields = value, fields
	case "modelVersion":
		if n.model != nil {
			return false
		}
		n.model = value
	case "candidates":
		if n.candidates {
			return false
		}
		n.candidates = true
	case "error", "promptFeedback", "createTime":
		return false
	}
	return true
}

// quickResponse reads a chunk the fast way (see the file comment) and
// reports false, having changed nothing, when the chunk needs the full
// path. It has the effect response would have: with no finishReason key
// anywhere, response's scan of the candidates finds nothing to record.
func (g *gemini) quickResponse(data []byte) (Kind, bool) {
	var n geminiNotes
	if g.slow || !walkObject(data, n.note) {
		return 0, false
	}
	if n.usage != nil {
		// usage, without gjson's float parsing of the counts (parseRaw).
		for _, f := range n.fields[:n.nfields] {
			g.usageField(view(f.key), parseRaw(f.value))
		}
		g.settleUsage()
	}
	if n.model != nil && g.res.Model == "" {
		g.res.setModel(gjson.Parse(view(n.model)).Str)
	}
	if n.candidates || n.usage != nil || n.model != nil {
		return KindMeaningful, true
	}
	return KindIgnored, true
}

// finish records the first finishReason among the candidates.
func (g *gemini) finish(candidates gjson.Result) {
	candidates.ForEach(func(_, c gjson.Result) bool {
		fr := c.Get("finishReason").Str
		if fr == "" {
			return true
		}
		g.res.Completed = true
		if g.res.FinishReason == "" {
			g.res.FinishReason = strings.Clone(fr)
		}
		return false
	})
}

// blocked records a prompt refused before generation (see the file comment).
func (g *gemini) blocked(reason string) {
	if reason == "" {
		return
	}
	g.res.Completed = true
	if g.res.FinishReason == "" {
		g.res.FinishReason = "prompt_blocked:" + reason
	}
}

// usage merges one usageMetadata snapshot in a single pass over its fields.
func (g *gemini) usage(m gjson.Result) {
	m.ForEach(func(key, v gjson.Result) bool {
		g.usageField(key.Str, v)
		return true
	})
	g.settleUsage()
}

// usageField merges one member of usageMetadata.
func (g *gemini) usageField(key string, v gjson.Result) {
	u := &g.res.Usage
	switch key {
	case "promptTokenCount":
		u.take(&g.prompt, "usageMetadata.promptTokenCount", v)
	case "toolUsePromptTokenCount":
		u.take(&g.toolUse, "usageMetadata.toolUsePromptTokenCount", v)
	case "candidatesTokenCount":
		u.take(&g.candidates, "usageMetadata.candidatesTokenCount", v)
	case "thoughtsTokenCount":
		u.take(&u.ReasoningTokens, "usageMetadata.thoughtsTokenCount", v)
	case "cachedContentTokenCount":
		u.take(&u.CacheReadTokens, "usageMetadata.cachedContentTokenCount", v)
	case "totalTokenCount":
		u.take(&u.ProviderTotal, "usageMetadata.totalTokenCount", v)
	case "trafficType":
		g.res.Vendor = "vertex"
	}
}

// settleUsage recomputes the normalized counts after a snapshot.
func (g *gemini) settleUsage() {
	u := &g.res.Usage
	u.InputTokens = g.prompt + g.toolUse
	u.OutputTokens = g.candidates + u.ReasoningTokens
	u.settle()
}
