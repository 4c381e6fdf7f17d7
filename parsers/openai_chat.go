package parsers

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI Chat Completions (wire-formats §2) and the vendors that copy it
// (§10: Azure, DeepSeek, Groq, OpenRouter, Mistral, xAI, vLLM).
//
// A stream is data-only SSE of chat.completion.chunk objects ending with
// "data: [DONE]". What the parser takes from it:
//
//   - Usage from any non-null "usage" object, wherever it sits: the OpenAI
//     include_usage chunk with "choices": [], DeepSeek's and Mistral's finish
//     chunk, OpenRouter's last message, vLLM's every chunk (cumulative), and
//     Groq's x_groq.usage. All are running totals: the latest wins, so Groq's
//     two reports of the same call count once and vLLM's are not summed.
//   - Completed when [DONE] arrives, or as soon as every choice seen so far
//     has a finish_reason (servers that end with a clean EOF after the finish
//     chunk). An empty finish_reason is null. Choice indices of 64 and above
//     are not tracked and only [DONE] completes such a stream. Completed says
//     the response reached its end, not that it succeeded: an error that ends
//     with a finish_reason or [DONE] is Completed with Err set.
//   - Errors: a top-level "error" object (or string), vLLM's older
//     {"object":"error",...}, and finish_reason "error" (Mistral,
//     OpenRouter). Type and status are explained at errorFields; a bare
//     finish_reason "error" has Type "error" and status 502.
//   - Model: the first non-empty "model"; Azure's prompt-filter chunk carries
//     an empty one.
//   - Vendor: "azure" from prompt_filter_results or content_filter_* on a
//     choice, "groq" from x_groq, "openrouter" from a "gen-" id, a provider
//     member or a usage cost, "deepseek" from prompt_cache_hit_tokens, "xai"
//     from cost_in_usd_ticks or its reasoning arithmetic (openAIUsage).
//     Mistral and vLLM put nothing distinctive in their bodies and stay "".
//     The marks are read from parsed chunks only, which always include the
//     first chunk, where every vendor above puts its mark (or its usage).
//
// Kinds: [DONE] is ignored (it still marks completion); a chunk with an
// error is an error; a chunk with an id, model, choices, usage or
// prompt_filter_results is meaningful, including Azure's first chunk that
// holds only prompt_filter_results, which shows that the prompt passed the
// filter and generation is under way; a JSON object with none of those is
// ignored.
//
// Fast paths: once the model is known, a chunk that plainChunk finds to be
// a plain content delta is reported meaningful without gjson. Such a chunk
// is only checked to be brace-delimited, so a broken chunk that still ends
// in "}" counts as meaningful rather than malformed; it cannot change the
// result either way. Any other chunk (the first, the finish and usage
// chunks) is validated and split into its top-level members by walkObject
// in one pass, instead of gjson's two, and those members go through the
// same code as gjson's; what walkObject declines takes gjson's path.
type openAIChat struct {
	res   Result
	usage openAIUsage
	// seen and finished are bit sets of choice indices below 64.
	seen, finished uint64
	// members is the fast path's scratch space, kept here so that handing
	// it to walkObject as an interface does not allocate per chunk.
	members topMembers
	// slow turns the fast path off, for the tests that compare the paths.
	slow bool
}

func newOpenAIChat() Parser { return &openAIChat{} }

func (p *openAIChat) Message(_, data []byte) Kind {
	d := bytes.TrimSpace(data)
	if bytes.Equal(d, doneMarker) {
		p.res.Completed = true
		return KindIgnored
	}
	if !braced(d) {
		return notObject(d)
	}
	if p.res.Model != "" && plainChunk(d) {
		return KindMeaningful
	}
	if !p.slow && walkObject(d, 1, p.members.reset()) {
		var c chatChunk
		for _, m := range p.members.list() {
			p.member(&c, view(m.key), gjson.Parse(view(m.value)))
		}
		return p.apply(&c, gjson.Parse(view(d)))
	}
	root, ok := object(d)
	if !ok {
		return KindMalformed
	}
	return p.chunk(root)
}

// Body reads a chat.completion body. It is Completed unless it reports an
// error (OpenRouter can answer 200 with an error object).
func (p *openAIChat) Body(data []byte) Kind {
	root, ok := object(bytes.TrimSpace(data))
	if !ok {
		return KindMalformed
	}
	k := p.chunk(root)
	p.res.Completed = k == KindMeaningful
	return k
}

func (p *openAIChat) Result() *Result { return &p.res }

func (p *openAIChat) Reset() {
	p.res.reset()
	p.usage = openAIUsage{}
	p.seen, p.finished = 0, 0
}

// chatChunk is what a chunk's top-level members say, gathered before any
// of it is applied.
type chatChunk struct {
	usage, xgroq, errv, choices gjson.Result
	known, flatErr              bool
}

// chunk reads one chunk (or a whole non-stream body) in one pass over its
// top-level members, then applies them.
func (p *openAIChat) chunk(root gjson.Result) Kind {
	var c chatChunk
	root.ForEach(func(k, v gjson.Result) bool {
		p.member(&c, k.Str, v)
		return true
	})
	return p.apply(&c, root)
}

// member takes one top-level member of a chunk: the model and vendor marks
// at once, the rest into c for apply.
func (p *openAIChat) member(c *chatChunk, key string, v gjson.Result) {
	switch key {
	case "model":
		c.known = true
		if v.Type == gjson.String {
			p.res.setModel(v.Str)
		}
	case "id":
		c.known = true
		if strings.HasPrefix(v.Str, "gen-") {
			p.res.setVendor("openrouter")
		}
	case "choices":
		c.known = true
		c.choices = v
	case "usage":
		c.usage = v
	case "error":
		c.errv = v
	case "object":
		c.flatErr = v.Str == "error"
	case "x_groq":
		c.xgroq = v
		p.res.setVendor("groq")
	case "prompt_filter_results":
		c.known = true
		p.res.setVendor("azure")
	case "provider":
		p.res.setVendor("openrouter")
	}
}

// apply records what a chunk's members say, in a fixed order so that an
// error is recorded before the finish_reason "error" that accompanies it.
func (p *openAIChat) apply(c *chatChunk, root gjson.Result) Kind {
	kind := KindIgnored
	if c.known {
		kind = KindMeaningful
	}
	if c.errv.IsObject() || c.errv.Type == gjson.String && c.errv.Str != "" {
		p.res.fail(readErrorFields(c.errv).toError())
		kind = KindError
	} else if c.flatErr {
		p.res.fail(readErrorFields(root).toError())
		kind = KindError
	}
	if u := c.xgroq.Get("usage"); u.IsObject() {
		p.usage.read(&p.res, u, &chatUsage)
		kind = max(kind, KindMeaningful)
	}
	if c.usage.IsObject() {
		p.usage.read(&p.res, c.usage, &chatUsage)
		kind = max(kind, KindMeaningful)
	}
	if c.choices.IsArray() && p.choices(c.choices) {
		p.res.fail(Error{Type: fallbackErrorType, Message: `finish_reason "error"`, Status: StatusFor(0, fallbackErrorType)})
		kind = KindError
	}
	return kind
}

// choices tracks which choices exist and which finished, and reports whether
// one finished with "error".
func (p *openAIChat) choices(choices gjson.Result) (failed bool) {
	pos := uint64(0)
	choices.ForEach(func(_, c gjson.Result) bool {
		index, reason := pos, ""
		pos++
		c.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "index":
				if n, ok := count(v); ok {
					index = n
				}
			case "finish_reason":
				reason = v.Str
			case "content_filter_results", "content_filter_offsets":
				p.res.setVendor("azure")
			}
			return true
		})
		var bit uint64
		if index < 64 {
			bit = 1 << index
		}
		p.seen |= bit
		if reason != "" {
			p.finished |= bit
			if p.res.FinishReason == "" {
				p.res.FinishReason = strings.Clone(reason)
			}
			failed = failed || reason == "error"
		}
		return true
	})
	if p.finished != 0 && p.seen&^p.finished == 0 {
		p.res.Completed = true
	}
	return failed
}

// plainChunk reports whether a chunk is a plain content delta that needs no
// parsing: no member named usage, error, finish_reason, index or x_groq has
// a value other than null, "" or 0, and it is not vLLM's older
// {"object":"error",...}. It makes one pass over the colons and looks at
// the key before each, which is much cheaper than a search per key in text
// as full of quotes as JSON. It never misses a key written plainly; a false
// alarm (a colon inside a string that happens to follow such a key) only
// costs a parse. Keys spelled with escapes ("\u0075sage") are not
// recognised; no provider writes keys so.
func plainChunk(d []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(d[i:], ':')
		if j < 0 {
			return true
		}
		colon := i + j
		i = colon + 1
		// Most colons follow a key that ends in a letter none of the keys
		// looked for ends in: rule those out without a call.
		if colon >= 2 && d[colon-1] == '"' && !keyEnding(d[colon-2]) {
			continue
		}
		switch string(keyBefore(d[:colon])) {
		case `"usage"`, `"error"`, `"finish_reason"`, `"index"`, `"x_groq"`:
			if !trivial(d[skipSpaceAt(d, i):]) {
				return false
			}
		case `"object"`:
			if bytes.HasPrefix(d[skipSpaceAt(d, i):], []byte(`"error"`)) {
				return false
			}
		}
	}
}

// keyEnding reports whether c is the last letter of a key plainChunk looks
// for (see keyBefore).
func keyEnding(c byte) bool {
	return c == 'e' || c == 'r' || c == 'x' || c == 'q' || c == 't' || c == 'n'
}

// keyBefore returns the quoted string that ends d, ignoring trailing white
// space, if it can be one of the keys plainChunk looks for; else nil. The
// key's last letter gives the only length it can have (no search for its
// opening quote): one of these keys ends in each letter below.
func keyBefore(d []byte) []byte {
	end := len(d) - 1
	for end >= 0 && isSpace(d[end]) {
		end--
	}
	if end < 1 || d[end] != '"' {
		return nil
	}
	var n int
	switch d[end-1] {
	case 'e', 'r', 'x': // usage, error, index
		n = 5
	case 'q', 't': // x_groq, object
		n = 6
	case 'n': // finish_reason
		n = 13
	default:
		return nil
	}
	start := end - n - 1
	if start < 0 || d[start] != '"' {
		return nil
	}
	return d[start : end+1]
}

// trivial reports whether a JSON value starts as null, "" or a bare 0.
func trivial(v []byte) bool {
	switch {
	case bytes.HasPrefix(v, []byte("null")), bytes.HasPrefix(v, []byte(`""`)):
		return true
	case len(v) > 0 && v[0] == '0':
		return len(v) == 1 || v[1] == ',' || v[1] == '}' || v[1] == ']' || isSpace(v[1])
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
