package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func TestInjectIncludeUsage(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`},
		{` {"stream":true}`, ` {"stream_options":{"include_usage":true},"stream":true}`},
		{`{"stream":true,"stream_options":{}}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{`{"stream":true,"stream_options":{ }}`, `{"stream":true,"stream_options":{"include_usage":true }}`},
		{`{"stream":true,"stream_options":{"include_obfuscation":false}}`, `{"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}`},
		{`{"stream":true,"stream_options":{"include_usage":false}}`, ``},
		{`{"stream":true,"stream_options":{"include_usage":true}}`, ``},
		{`{"stream":true,"stream_options":null}`, ``},
		{`{"stream":false}`, ``},
		{`{"model":"m"}`, ``},
		{`[{"stream":true}]`, ``},
	}
	for _, c := range cases {
		if got := string(injectIncludeUsage([]byte(c.in))); got != c.want {
			t.Errorf("injectIncludeUsage(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// withoutUsageChunk is the chat fixture as the client would have received
// it without include_usage: the usage-only event and every other chunk's
// "usage":null member are gone.
func withoutUsageChunk(t *testing.T, body []byte) []byte {
	t.Helper()
	var out []byte
	removed := 0
	for _, ev := range eventChunks(body) {
		if bytes.Contains(ev, []byte(`"choices":[]`)) && bytes.Contains(ev, []byte(`"usage":{`)) {
			removed++
			continue
		}
		out = append(out, bytes.Replace(ev, []byte(`,"usage":null`), nil, 1)...)
	}
	if removed != 1 {
		t.Fatalf("fixture has %d usage-only events, want 1", removed)
	}
	return out
}

func TestAppendWithoutUsageNull(t *testing.T) {
	cases := map[string]string{
		"data: {\"id\":\"1\",\"choices\":[],\"usage\":null}\n\n":          "data: {\"id\":\"1\",\"choices\":[]}\n\n",
		"data: {\"usage\":null,\"id\":\"1\"}\n\n":                         "data: {\"id\":\"1\"}\n\n",
		"data: {\"id\":\"1\",\"x\":{\"usage\":null}}\n\n":                 "data: {\"id\":\"1\",\"x\":{\"usage\":null}}\n\n",
		"data: {\"id\":\"1\",\"usage\":{\"prompt_tokens\":1}}\n\n":        "data: {\"id\":\"1\",\"usage\":{\"prompt_tokens\":1}}\n\n",
		"data: {\"id\":\"1\",\"content\":\"say \\\"usage\\\":null\"}\n\n": "data: {\"id\":\"1\",\"content\":\"say \\\"usage\\\":null\"}\n\n",
		"data: [DONE]\n\n": "data: [DONE]\n\n",
	}
	for in, want := range cases {
		if got := string(appendWithoutUsageNull(nil, []byte(in))); got != want {
			t.Errorf("appendWithoutUsageNull(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestUsageStripper(t *testing.T) {
	body, err := os.ReadFile("../parsers/testdata/openai_chat/openai_include_usage.sse")
	if err != nil {
		t.Fatal(err)
	}
	want := withoutUsageChunk(t, body)
	for cut, chunks := range cuttings(body) {
		s := &usageStripper{maxEvent: 1 << 20}
		var out []byte
		for i, c := range chunks {
			out = append(out, s.process(c, i == len(chunks)-1)...)
		}
		if !bytes.Equal(out, want) || s.removed != 1 {
			t.Errorf("%s: stripped stream differs (removed %d)", cut, s.removed)
		}
	}
}

// TestInjectStreamUsage runs the whole injection through the plugin: the
// request gains include_usage, the client's stream loses the usage chunk,
// and the call is metered from it.
func TestInjectStreamUsage(t *testing.T) {
	body, err := os.ReadFile("../parsers/testdata/openai_chat/openai_include_usage.sse")
	if err != nil {
		t.Fatal(err)
	}
	stripped := withoutUsageChunk(t, body)
	cases := []struct {
		name, config, request string
		wantRequest           string
		wantForwarded         []byte
	}{
		{"injected and stripped", `{"inject_stream_usage": true}`, `{"model":"gpt-5-nano","stream":true}`,
			`{"stream_options":{"include_usage":true},"model":"gpt-5-nano","stream":true}`, stripped},
		{"client asked itself: untouched", `{"inject_stream_usage": true}`, `{"model":"gpt-5-nano","stream":true,"stream_options":{"include_usage":true}}`,
			`{"model":"gpt-5-nano","stream":true,"stream_options":{"include_usage":true}}`, body},
		{"option off: untouched", `{}`, `{"model":"gpt-5-nano","stream":true}`, `{"model":"gpt-5-nano","stream":true}`, body},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				for cut, chunks := range cuttings(body) {
					t.Run(cut, func(t *testing.T) {
						host := startHost(t, vm, c.config)
						o := run(t, host, exchange{path: "/v1/chat/completions", requestBody: c.request, headers: sseHeaders, chunks: chunks})
						if string(o.request) != c.wantRequest {
							t.Errorf("request sent upstream %s\nwant %s", o.request, c.wantRequest)
						}
						if !bytes.Equal(o.forwarded, c.wantForwarded) {
							t.Errorf("client got\n%s\nwant\n%s", o.forwarded, c.wantForwarded)
						}
						checkUsage(t, o, map[string]any{"usage_reported": true, "input_tokens": 1200.0, "outcome": "completed"})
					})
				}
			})
		})
	}
}
