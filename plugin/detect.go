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
// just works. forced, when not APIUnknown, skips path detection.
func detectRequest(method, path, host string, forced parsers.API) (request, bool) {
	if method != "POST" && forced == parsers.APIUnknown {
		return request{}, false
	}
	p := path
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	var r request
	switch {
	case forced != parsers.APIUnknown:
		r.api = forced
	case strings.HasSuffix(p, "/chat/completions"):
		r.api = parsers.APIOpenAIChat
	case strings.HasSuffix(p, "/v1/responses"):
		r.api = parsers.APIOpenAIResponses
	case strings.HasSuffix(p, "/v1/messages"):
		r.api = parsers.APIAnthropicMessages
	case strings.HasSuffix(p, ":generateContent"), strings.HasSuffix(p, ":streamGenerateContent"):
		r.api = parsers.APIGemini
	default:
		return request{}, false
	}
	if r.api == parsers.APIGemini {
		r.stream = strings.HasSuffix(p, ":streamGenerateContent")
		if i := strings.LastIndex(p, "/models/"); i >= 0 {
			m := p[i+len("/models/"):]
			if j := strings.IndexByte(m, ':'); j >= 0 {
				m = m[:j]
			}
			r.model = m
		}
	}
	r.provider, r.providerKnown = detectProvider(r.api, p, host)
	return r, true
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
	switch api {
	case parsers.APIAnthropicMessages:
		return "anthropic", false
	case parsers.APIGemini:
		return "google", false
	}
	return "openai", false
}

// framing is how a response body is cut into messages.
type framing uint8

const (
	framingWhole     framing = iota // one JSON document, parsed at its end
	framingSSE                      // text/event-stream
	framingJSONArray                // streamed JSON array (Gemini without alt=sse)
	framingNDJSON                   // newline-delimited JSON
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
