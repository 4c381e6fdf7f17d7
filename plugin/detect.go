package main

import (
	"strings"

	"github.com/tokenmeter/tokenmeter/parsers"
)

// request is what the request line and headers say about a call.
type request struct {
	api      parsers.API
	provider string
	// providerKnown is set when the host or path named the provider; when
	// not, a vendor the parser recognises in the body takes precedence.
	providerKnown bool
	model         string // from the path (Gemini, Vertex), else ""
	stream        bool   // the path asks for a stream (streamGenerateContent)
}

// detectRequest recognises an LLM API call from its method and path, with
// no configuration, so that dropping the plugin in front of any provider
// just works. forced, when not APIUnknown, names the API whatever the path.
func detectRequest(method, path, host string, forced parsers.API) (request, bool) {
	if method != "POST" && forced == parsers.APIUnknown {
		return request{}, false
	}
	p := path
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	r, ok := detectPath(p)
	if forced != parsers.APIUnknown && r.api != forced {
		r, ok = request{api: forced}, true
	}
	if !ok {
		return request{}, false
	}
	r.provider, r.providerKnown = detectProvider(r.api, p, host)
	return r, true
}

// detectPath maps a request path (without its query) to the API it
// speaks, and what the path itself says about the model and streaming.
func detectPath(p string) (r request, ok bool) {
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		r.api = parsers.APIOpenAIChat
	case strings.HasSuffix(p, "/v1/responses"):
		r.api = parsers.APIOpenAIResponses
	case strings.HasSuffix(p, "/v1/messages"):
		r.api = parsers.APIAnthropicMessages
	case strings.HasSuffix(p, ":generateContent"), strings.HasSuffix(p, ":streamGenerateContent"):
		r.api = parsers.APIGemini
		r.stream = strings.HasSuffix(p, ":streamGenerateContent")
		r.model = pathSegmentAfter(p, "/models/", ':')
	case strings.HasSuffix(p, "/converse"), strings.HasSuffix(p, "/converse-stream"):
		r.api = parsers.APIBedrockConverse
		r.stream = strings.HasSuffix(p, "-stream")
		r.model = pathSegmentAfter(p, "/model/", '/')
	case strings.HasSuffix(p, "/invoke"), strings.HasSuffix(p, "/invoke-with-response-stream"):
		r.api = parsers.APIBedrockInvoke
		r.stream = strings.HasSuffix(p, "-stream")
		r.model = pathSegmentAfter(p, "/model/", '/')
	case strings.HasSuffix(p, "/api/chat"), strings.HasSuffix(p, "/api/generate"):
		r.api = parsers.APIOllama
		r.stream = true // Ollama streams unless the body says "stream": false
	case strings.HasSuffix(p, "/v2/chat"):
		r.api = parsers.APICohere
	default:
		return request{}, false
	}
	return r, true
}

// pathSegmentAfter returns the path segment that follows marker, up to
// end, URL-decoded (Bedrock model ids are escaped: "…-v1%3A0"), or "".
func pathSegmentAfter(path, marker string, end byte) string {
	i := strings.LastIndex(path, marker)
	if i < 0 {
		return ""
	}
	seg := path[i+len(marker):]
	if j := strings.IndexByte(seg, end); j >= 0 {
		seg = seg[:j]
	}
	return unescapePath(seg)
}

// unescapePath decodes %XX escapes, leaving a malformed segment as it is.
// (net/url would do, but costs the module an eighth of a megabyte.)
func unescapePath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return s
		}
		out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(out)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// providerHosts maps well-known API hosts to provider names; it is checked
// by host suffix so regional hosts match too.
var providerHosts = []struct{ suffix, provider string }{
	{"openai.azure.com", "azure"},
	{"api.openai.com", "openai"},
	{"api.anthropic.com", "anthropic"},
	{"generativelanguage.googleapis.com", "google"},
	{"aiplatform.googleapis.com", "vertex"},
	{"api.deepseek.com", "deepseek"},
	{"openrouter.ai", "openrouter"},
	{"api.groq.com", "groq"},
	{"api.x.ai", "xai"},
	{"api.mistral.ai", "mistral"},
	{"amazonaws.com", "bedrock"},
	{"api.cohere.com", "cohere"},
	{"api.cohere.ai", "cohere"},
}

// detectProvider names who serves the call: a known host wins, then a
// telling path shape, then the API's own vendor (known is false then, and
// the parser may still recognise the vendor from the body).
func detectProvider(api parsers.API, path, host string) (provider string, known bool) {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.ToLower(host)
	for _, h := range providerHosts {
		if host == h.suffix || strings.HasSuffix(host, "."+h.suffix) {
			return h.provider, true
		}
	}
	switch {
	case strings.Contains(path, "/openai/deployments/"):
		return "azure", true
	case strings.Contains(path, "/projects/") && strings.Contains(path, "/publishers/"):
		return "vertex", true
	}
	return apiVendors[api], false
}

// apiVendors names the provider of an API when nothing more specific is
// known: the vendor that defined the wire format.
var apiVendors = map[parsers.API]string{
	parsers.APIOpenAIChat:        "openai",
	parsers.APIOpenAIResponses:   "openai",
	parsers.APIAnthropicMessages: "anthropic",
	parsers.APIGemini:            "google",
	parsers.APIBedrockConverse:   "bedrock",
	parsers.APIBedrockInvoke:     "bedrock",
	parsers.APIOllama:            "ollama",
	parsers.APICohere:            "cohere",
}

// framing is how a response body is cut into messages.
type framing uint8

const (
	framingWhole       framing = iota // one JSON document, parsed at its end
	framingSSE                        // text/event-stream
	framingJSONArray                  // streamed JSON array (Gemini without alt=sse)
	framingNDJSON                     // newline-delimited JSON
	framingEventStream                // AWS binary eventstream (Bedrock)
)

// framingFromContentType chooses the framing from the response content type
// and the request; known is false when the content type says nothing useful
// (missing, text/plain, octet-stream) and the body must be sniffed.
func framingFromContentType(contentType string, req request) (f framing, known bool) {
	ct := strings.ToLower(contentType)
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		return framingSSE, true
	case strings.Contains(ct, "ndjson"), strings.HasPrefix(ct, "application/jsonl"):
		return framingNDJSON, true
	case strings.HasPrefix(ct, "application/vnd.amazon.eventstream"):
		return framingEventStream, true
	case strings.Contains(ct, "json"):
		if req.api == parsers.APIGemini && req.stream {
			return framingJSONArray, true
		}
		return framingWhole, true
	}
	return framingWhole, false
}

// framingFromBody sniffs the first body bytes for backends that stream SSE
// or JSON without saying so in the content type.
func framingFromBody(first []byte, req request) framing {
	b := first
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	switch {
	case len(b) == 0:
		return framingWhole
	case b[0] == ':' || hasPrefix(b, "data:") || hasPrefix(b, "event:") || hasPrefix(b, "id:"):
		return framingSSE
	case b[0] == '[' && req.stream:
		return framingJSONArray
	}
	return framingWhole
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}
