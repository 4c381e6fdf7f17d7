package main

import (
	"testing"

	"github.com/tokenmeter/tokenmeter/parsers"
)

func TestDetectRequest(t *testing.T) {
	cases := []struct {
		method, path, host string
		forced             parsers.API
		ok                 bool
		want               request
	}{
		{"POST", "/v1/chat/completions", "api.openai.com", 0, true, request{api: parsers.APIOpenAIChat, provider: "openai", providerKnown: true}},
		{"POST", "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", "x.openai.azure.com", 0, true, request{api: parsers.APIOpenAIChat, provider: "azure", providerKnown: true}},
		{"POST", "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", "gateway.local", 0, true, request{api: parsers.APIOpenAIChat, provider: "azure", providerKnown: true}},
		{"POST", "/api/v1/chat/completions", "openrouter.ai", 0, true, request{api: parsers.APIOpenAIChat, provider: "openrouter", providerKnown: true}},
		{"POST", "/chat/completions", "api.deepseek.com:443", 0, true, request{api: parsers.APIOpenAIChat, provider: "deepseek", providerKnown: true}},
		{"POST", "/v1/chat/completions", "127.0.0.1:8080", 0, true, request{api: parsers.APIOpenAIChat, provider: "openai"}},
		{"POST", "/v1/responses", "api.openai.com", 0, true, request{api: parsers.APIOpenAIResponses, provider: "openai", providerKnown: true}},
		{"POST", "/v1/messages", "api.anthropic.com", 0, true, request{api: parsers.APIAnthropicMessages, provider: "anthropic", providerKnown: true}},
		{"POST", "/v1/messages?beta=true", "localhost", 0, true, request{api: parsers.APIAnthropicMessages, provider: "anthropic"}},
		{"POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generativelanguage.googleapis.com", 0, true,
			request{api: parsers.APIGemini, provider: "google", providerKnown: true, model: "gemini-2.5-flash"}},
		{"POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "generativelanguage.googleapis.com", 0, true,
			request{api: parsers.APIGemini, provider: "google", providerKnown: true, model: "gemini-2.5-flash", stream: true}},
		{"POST", "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent", "us-central1-aiplatform.googleapis.com", 0, true,
			request{api: parsers.APIGemini, provider: "vertex", providerKnown: true, model: "gemini-2.0-flash", stream: true}},
		{"POST", "/v1/projects/p/locations/global/publishers/google/models/gemini-2.0-flash:generateContent", "proxy.internal", 0, true,
			request{api: parsers.APIGemini, provider: "vertex", providerKnown: true, model: "gemini-2.0-flash"}},
		{"POST", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", "bedrock-runtime.us-east-1.amazonaws.com", 0, true,
			request{api: parsers.APIBedrockConverse, provider: "bedrock", providerKnown: true, model: "anthropic.claude-3-5-sonnet-20240620-v1:0", stream: true}},
		{"POST", "/model/amazon.nova-lite-v1:0/converse", "gw.local", 0, true,
			request{api: parsers.APIBedrockConverse, provider: "bedrock", model: "amazon.nova-lite-v1:0"}},
		{"POST", "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke-with-response-stream", "bedrock-runtime.eu-west-1.amazonaws.com", 0, true,
			request{api: parsers.APIBedrockInvoke, provider: "bedrock", providerKnown: true, model: "anthropic.claude-3-haiku-20240307-v1:0", stream: true}},
		{"POST", "/model/meta.llama3-8b-instruct-v1:0/invoke", "gw.local", 0, true,
			request{api: parsers.APIBedrockInvoke, provider: "bedrock", model: "meta.llama3-8b-instruct-v1:0"}},
		{"POST", "/api/chat", "localhost:11434", 0, true, request{api: parsers.APIOllama, provider: "ollama", stream: true}},
		{"POST", "/api/generate", "localhost:11434", 0, true, request{api: parsers.APIOllama, provider: "ollama", stream: true}},
		{"POST", "/v2/chat", "api.cohere.com", 0, true, request{api: parsers.APICohere, provider: "cohere", providerKnown: true}},
		{"POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "gw.local", parsers.APIGemini, true,
			request{api: parsers.APIGemini, provider: "google", model: "gemini-2.5-flash", stream: true}},
		{"POST", "/v1/chat/completions", "gw.local", parsers.APIAnthropicMessages, true, request{api: parsers.APIAnthropicMessages, provider: "anthropic"}},
		{"GET", "/v1/chat/completions", "api.openai.com", 0, false, request{}},
		{"POST", "/v1/embeddings", "api.openai.com", 0, false, request{}},
		{"POST", "/v1/responses/resp_1/cancel", "api.openai.com", 0, false, request{}},
		{"POST", "/healthz", "localhost", 0, false, request{}},
		{"POST", "/custom/llm", "localhost", parsers.APIAnthropicMessages, true, request{api: parsers.APIAnthropicMessages, provider: "anthropic"}},
	}
	for _, c := range cases {
		got, ok := detectRequest(c.method, c.path, c.host, c.forced)
		if ok != c.ok || got != c.want {
			t.Errorf("detectRequest(%s %s, %s) = %+v, %v; want %+v, %v", c.method, c.path, c.host, got, ok, c.want, c.ok)
		}
	}
}

func TestFraming(t *testing.T) {
	gemStream := request{api: parsers.APIGemini, stream: true}
	chat := request{api: parsers.APIOpenAIChat}
	cases := []struct {
		contentType string
		req         request
		want        framing
		known       bool
	}{
		{"text/event-stream; charset=utf-8", chat, framingSSE, true},
		{"application/x-ndjson", chat, framingNDJSON, true},
		{"application/vnd.amazon.eventstream", request{api: parsers.APIBedrockConverse, stream: true}, framingEventStream, true},
		{"application/json", gemStream, framingJSONArray, true},
		{"application/json; charset=UTF-8", chat, framingWhole, true},
		{"", chat, framingWhole, false},
		{"text/plain", chat, framingWhole, false},
	}
	for _, c := range cases {
		if got, known := framingFromContentType(c.contentType, c.req); got != c.want || known != c.known {
			t.Errorf("framingFromContentType(%q) = %v, %v; want %v, %v", c.contentType, got, known, c.want, c.known)
		}
	}
	sniff := []struct {
		body string
		req  request
		want framing
	}{
		{"data: {}\n\n", chat, framingSSE},
		{"\r\n: keep-alive\n\n", chat, framingSSE},
		{"event: message_start\n", chat, framingSSE},
		{"  {\"id\":1}", chat, framingWhole},
		{"[{\"candidates\":[]}", gemStream, framingJSONArray},
		{"[{\"candidates\":[]}", chat, framingWhole},
		{"", chat, framingWhole},
	}
	for _, c := range sniff {
		if got := framingFromBody([]byte(c.body), c.req); got != c.want {
			t.Errorf("framingFromBody(%q) = %v, want %v", c.body, got, c.want)
		}
	}
}

func TestSanitizeLabel(t *testing.T) {
	cases := map[string]string{
		"gpt-4o-mini":            "gpt-4o-mini",
		"gemini-2.5-flash":       "gemini-2_5-flash",
		"openai/gpt-4o":          "openai_gpt-4o",
		"llama3.2:latest":        "llama3_2_latest",
		"":                       "unknown",
		"claude-sonnet-4-202505": "claude-sonnet-4-202505",
	}
	for in, want := range cases {
		if got := sanitizeLabel(in); got != want {
			t.Errorf("sanitizeLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	cases := map[string]string{
		`plain`:           `"plain"`,
		"q\"b\\n\n\t\x01": `"q\"b\\n\n\t\u0001"`,
		"caf\xc3\xa9":     `"café"`,
		"bad\xff":         `"bad` + "\ufffd" + `"`,
	}
	for in, want := range cases {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestUnescapePath(t *testing.T) {
	cases := map[string]string{
		"anthropic.claude-3-5-sonnet-20240620-v1%3A0":                    "anthropic.claude-3-5-sonnet-20240620-v1:0",
		"arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x": "arn:aws:bedrock:us-east-1:1:inference-profile/us.x",
		"plain":  "plain",
		"bad%zz": "bad%zz",
		"cut%3":  "cut%3",
	}
	for in, want := range cases {
		if got := unescapePath(in); got != want {
			t.Errorf("unescapePath(%q) = %q, want %q", in, got, want)
		}
	}
}
