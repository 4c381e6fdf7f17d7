package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/tokenmeter/tokenmeter/sseparse"
)

// fixtureWant is the hand-written expectation next to every parsers
// fixture (<case>.want.json); the plugin must report the same numbers.
type fixtureWant struct {
	Model               string  `json:"model"`
	InputTokens         float64 `json:"input_tokens"`
	OutputTokens        float64 `json:"output_tokens"`
	CacheReadTokens     float64 `json:"cache_read_tokens"`
	CacheCreationTokens float64 `json:"cache_creation_tokens"`
	ReasoningTokens     float64 `json:"reasoning_tokens"`
	TotalTokens         float64 `json:"total_tokens"`
	UsageReported       bool    `json:"usage_reported"`
	Completed           bool    `json:"completed"`
	FinishReason        string  `json:"finish_reason"`
	Vendor              string  `json:"vendor"`
	ErrorType           string  `json:"error_type"`
	ErrorStatus         int     `json:"error_status"`
	FirstKind           string  `json:"first_kind"`
}

// fixtureAPI says how to call each API whose fixtures live in
// parsers/testdata/<dir>.
var fixtureAPIs = []struct {
	dir, api, provider string
	path               func(ext string) string
}{
	{"openai_chat", "openai_chat", "openai", func(string) string { return "/v1/chat/completions" }},
	{"openai_responses", "openai_responses", "openai", func(string) string { return "/v1/responses" }},
	{"anthropic", "anthropic_messages", "anthropic", func(string) string { return "/v1/messages" }},
	{"gemini", "gemini", "google", func(ext string) string {
		switch ext {
		case ".sse":
			return "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"
		case ".array.json":
			return "/v1beta/models/gemini-test:streamGenerateContent"
		}
		return "/v1beta/models/gemini-test:generateContent"
	}},
	{"bedrock_converse", "bedrock_converse", "bedrock", func(ext string) string {
		if ext == ".eventstream.txt" {
			return "/model/anthropic.claude-test-v1%3A0/converse-stream"
		}
		return "/model/anthropic.claude-test-v1%3A0/converse"
	}},
	{"bedrock_invoke", "bedrock_invoke", "bedrock", func(ext string) string {
		if ext == ".eventstream.txt" {
			return "/model/anthropic.claude-test-v1%3A0/invoke-with-response-stream"
		}
		return "/model/anthropic.claude-test-v1%3A0/invoke"
	}},
	{"ollama", "ollama", "ollama", func(string) string { return "/api/chat" }},
	{"cohere", "cohere", "cohere", func(string) string { return "/v2/chat" }},
}

// pathModels are the models the request paths above name.
var pathModels = map[string]string{
	"gemini":           "gemini-test",
	"bedrock_converse": "anthropic.claude-test-v1:0",
	"bedrock_invoke":   "anthropic.claude-test-v1:0",
}

func fixtureExt(name string) string {
	for _, ext := range []string{".eventstream.txt", ".array.json", ".sse", ".ndjson", ".json"} {
		if strings.HasSuffix(name, ext) {
			return ext
		}
	}
	return ""
}

var contentTypes = map[string]string{
	".eventstream.txt": "application/vnd.amazon.eventstream",
	".sse":             "text/event-stream; charset=utf-8",
	".array.json":      "application/json; charset=UTF-8",
	".json":            "application/json",
	".ndjson":          "application/x-ndjson",
}

// fixtureConfigs are the configurations every fixture runs under: the
// defaults, every message parsed, and the smallest tail, with which the
// middle of all but the shortest fixtures is skipped: the record must be
// the same.
var fixtureConfigs = map[string]string{
	"default":     `{}`,
	"every-event": `{"parse_every_event": true}`,
	"small-tail":  `{"tail_bytes": 1024}`,
}

// TestFixturesThroughPlugin replays every parsers fixture through the
// plugin, whole, one byte at a time and at random cuts, natively and in
// wasm: the client gets exactly the upstream's bytes (or the local reply
// for an embedded error) and filter state carries the expected usage.
func TestFixturesThroughPlugin(t *testing.T) {
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		n := 0
		for _, fa := range fixtureAPIs {
			files, _ := filepath.Glob(filepath.Join("..", "parsers", "testdata", fa.dir, "*"))
			for _, file := range files {
				ext := fixtureExt(file)
				if ext == "" || strings.HasSuffix(file, ".want.json") {
					continue
				}
				var want fixtureWant
				raw, err := os.ReadFile(strings.TrimSuffix(file, ext) + ".want.json")
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				body, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if ext == ".eventstream.txt" {
					if body, err = sseparse.EncodeEventStreamText(string(body)); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
				}
				n++
				for cut, chunks := range cuttings(body) {
					for cfgName, cfg := range fixtureConfigs {
						t.Run(fa.dir+"/"+filepath.Base(file)+"/"+cut+"/"+cfgName, func(t *testing.T) {
							host := startHost(t, vm, cfg)
							o := run(t, host, exchange{
								path: fa.path(ext), authority: "llm.test",
								requestBody: `{"model":"request-model","stream":` + boolText(ext != ".json") + `}`,
								headers:     [][2]string{{"content-type", contentTypes[ext]}},
								chunks:      chunks,
							})
							checkFixture(t, o, body, fa.api, fa.provider, want)
						})
					}
				}
			}
		}
		if n < 8 {
			t.Fatalf("only %d fixtures found under parsers/testdata", n)
		}
	})
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func checkFixture(t *testing.T, o observed, body []byte, api, provider string, want fixtureWant) {
	t.Helper()
	if want.Vendor != "" {
		provider = want.Vendor
	}
	model := want.Model
	if model == "" {
		model = "request-model"
		if m, ok := pathModels[api]; ok {
			model = m
		}
	}
	outcome, status := "incomplete", 200
	switch {
	case want.FirstKind == "error":
		outcome, status = "embedded_error", want.ErrorStatus
	case want.ErrorType != "":
		outcome = "stream_error"
	case want.Completed:
		outcome = "completed"
	}
	if outcome == "embedded_error" {
		if o.local == nil {
			t.Fatalf("no local reply for an embedded error")
		}
		if int(o.local.StatusCode) != want.ErrorStatus || len(o.forwarded) != 0 {
			t.Errorf("local reply status %d (want %d), %d bytes forwarded", o.local.StatusCode, want.ErrorStatus, len(o.forwarded))
		}
		var reply struct {
			Error struct{ Type, Message, Provider string }
		}
		if err := json.Unmarshal(o.local.Data, &reply); err != nil || reply.Error.Type != want.ErrorType || reply.Error.Provider != provider {
			t.Errorf("local reply body %s (err %v)", o.local.Data, err)
		}
		if headerValue(o.local.Headers, "x-tokenmeter-embedded-error") != want.ErrorType {
			t.Errorf("local reply headers %v", o.local.Headers)
		}
	} else {
		if o.local != nil {
			t.Fatalf("unexpected local reply %d %s", o.local.StatusCode, o.local.Data)
		}
		if !bytes.Equal(o.forwarded, body) {
			t.Fatalf("forwarded bytes differ from upstream: got %d bytes, want %d", len(o.forwarded), len(body))
		}
	}
	expect := map[string]any{
		"provider": provider, "api": api, "model": model,
		"input_tokens": want.InputTokens, "output_tokens": want.OutputTokens,
		"cache_read_tokens": want.CacheReadTokens, "cache_creation_tokens": want.CacheCreationTokens,
		"reasoning_tokens": want.ReasoningTokens, "total_tokens": want.TotalTokens,
		"usage_reported": want.UsageReported, "outcome": outcome, "finish_reason": want.FinishReason,
		"error_type": want.ErrorType, "status": float64(status),
	}
	for k, v := range expect {
		if o.usage[k] != v {
			t.Errorf("llm.usage %s = %#v, want %#v", k, o.usage[k], v)
		}
	}
}

func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}
