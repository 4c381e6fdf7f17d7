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
	// notes is quickResponse's scratch space, kept here so that handing it
	// to walkObject as an interface does not allocate per chunk.
	notes geminiNotes
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
	// counts are the usageMetadata counts read, in the order of the chunk
	// (the order Raw records them in), and vertex whether it had
	// trafficType.
	counts  [maxUsageCounts]geminiCount
	ncounts int
	vertex  bool
}

// maxUsageCounts bounds the counts of one usageMetadata the fast path
// reads; Gemini sends each of the six at most once.
const maxUsageCounts = 8

// geminiCount is one count of usageMetadata: which (an index into
// geminiCountFields) and its value.
type geminiCount struct {
	field int
	value uint64
}

// geminiCountFields are the usageMetadata counts the parser merges, with the
// static names Raw records them under.
var geminiCountFields = [...]struct{ key, raw string }{
	{"promptTokenCount", "usageMetadata.promptTokenCount"},
	{"toolUsePromptTokenCount", "usageMetadata.toolUsePromptTokenCount"},
	{"candidatesTokenCount", "usageMetadata.candidatesTokenCount"},
	{"thoughtsTokenCount", "usageMetadata.thoughtsTokenCount"},
	{"cachedContentTokenCount", "usageMetadata.cachedContentTokenCount"},
	{"totalTokenCount", "usageMetadata.totalTokenCount"},
}

// geminiCountField returns the index of key in geminiCountFields, or -1.
func geminiCountField(key string) int {
	for i, f := range geminiCountFields {
		if f.key == key {
			return i
		}
	}
	return -1
}

// countDst is where the count geminiCountFields[field] is merged.
func (g *gemini) countDst(field int) *uint64 {
	switch u := &g.res.Usage; field {
	case 0:
		return &g.prompt
	case 1:
		return &g.toolUse
	case 2:
		return &g.candidates
	case 3:
		return &u.ReasoningTokens
	case 4:
		return &u.CacheReadTokens
	default:
		return &u.ProviderTotal
	}
}

// geminiNoteDepth is as deep as geminiNotes looks: the members of a
// candidate. Only there can a finishReason count (response reads it from
// each candidate), so a deeper one, say in a function call's arguments,
// changes nothing and need not be seen.
const geminiNoteDepth = 3

// member records one member. It stops the walk, sending the chunk down the
// full path, at what only that path handles (the members error,
// promptFeedback and createTime, a finishReason, a count that is not a
// plain integer) and at a repeated top-level member, whose effect depends
// on order.
func (n *geminiNotes) member(depth int, parent, key, value []byte) bool {
	if depth > 1 {
		if depth == 2 && string(parent) == "usageMetadata" {
			return n.usageMember(key, value)
		}
		return string(key) != "finishReason"
	}
	switch string(key) {
	case "usageMetadata":
		if n.usage != nil || value[0] != '{' {
			return false
		}
		n.usage = value
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

// usageMember records one member of usageMetadata.
func (n *geminiNotes) usageMember(key, value []byte) bool {
	if string(key) == "trafficType" {
		n.vertex = true
		return true
	}
	field := geminiCountField(view(key))
	if field < 0 {
		return true
	}
	v, ok := plainCount(value)
	if !ok || n.ncounts == len(n.counts) {
		return false
	}
	n.counts[n.ncounts] = geminiCount{field, v}
	n.ncounts++
	return true
}

// quickResponse reads a chunk the fast way (see the file comment) and
// reports false, having changed nothing, when the chunk needs the full
// path. It has the effect response would have: with no finishReason key
// anywhere, response's scan of the candidates finds nothing to record.
func (g *gemini) quickResponse(data []byte) (Kind, bool) {
	n := &g.notes
	*n = geminiNotes{}
	if g.slow || !walkObject(data, geminiNoteDepth, n) {
		return 0, false
	}
	if n.usage != nil {
		u := &g.res.Usage
		for _, c := range n.counts[:n.ncounts] {
			keep(g.countDst(c.field), u.record(geminiCountFields[c.field].raw, c.value))
		}
		if n.vertex {
			g.res.Vendor = "vertex"
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
	if key == "trafficType" {
		g.res.Vendor = "vertex"
	} else if field := geminiCountField(key); field >= 0 {
		g.res.Usage.take(g.countDst(field), geminiCountFields[field].raw, v)
	}
}

// settleUsage recomputes the normalized counts after a snapshot.
func (g *gemini) settleUsage() {
	u := &g.res.Usage
	u.InputTokens = g.prompt + g.toolUse
	u.OutputTokens = g.candidates + u.ReasoningTokens
	u.settle()
}
