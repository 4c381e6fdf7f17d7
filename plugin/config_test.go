package main

import (
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/tokenmeter/tokenmeter/parsers"
)

func TestParseConfigDefaults(t *testing.T) {
	for _, in := range []string{"", "  ", "{}"} {
		pc, err := parseConfig([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if pc.base != defaultConfig() || len(pc.routes) != 0 {
			t.Errorf("%q: got %+v, want defaults", in, pc.base)
		}
	}
}

func TestParseConfigFields(t *testing.T) {
	pc, err := parseConfig([]byte(`{
		"enabled": true, "api": "anthropic_messages", "embedded_error_action": "record",
		"prefetch_max_events": 3, "prefetch_max_bytes": 0, "prefetch_timeout_ms": 250,
		"max_body_bytes": 1000, "max_request_bytes": 2000, "max_event_bytes": 4096,
		"max_models": 7, "log": "off", "parse_every_event": true, "tail_bytes": 2048,
		"routes": [
			{"name": "internal", "enabled": false},
			{"path_prefix": "/gemini/", "api": "gemini", "prefetch_max_events": 9}
		]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Enabled: true, API: parsers.APIAnthropicMessages, RejectEmbeddedErrors: false,
		PrefetchMaxEvents: 3, PrefetchMaxBytes: 0, PrefetchTimeoutMS: 250,
		MaxBodyBytes: 1000, MaxRequestBytes: 2000, MaxEventBytes: 4096, MaxModels: 7, LogJSON: false,
		ParseEveryEvent: true, TailBytes: 2048,
	}
	if pc.base != want {
		t.Errorf("base:\n got %+v\nwant %+v", pc.base, want)
	}
	off := want
	off.Enabled = false
	gem := want
	gem.API, gem.PrefetchMaxEvents = parsers.APIGemini, 9
	cases := []struct {
		routeName, path string
		want            Config
	}{
		{"internal", "/v1/chat/completions", off},
		{"other", "/gemini/v1beta/models/x:generateContent", gem},
		{"", "/v1/messages", want},
	}
	for _, c := range cases {
		if got := *pc.forRequest(func() string { return c.routeName }, c.path); got != c.want {
			t.Errorf("forRequest(%q, %q):\n got %+v\nwant %+v", c.routeName, c.path, got, c.want)
		}
	}
	// The route name is a host call: with no entry naming a route it is
	// never asked for.
	byPath, err := parseConfig([]byte(`{"routes": [{"path_prefix": "/internal/", "enabled": false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/internal/v1/messages", "/v1/messages"} {
		byPath.forRequest(func() string { t.Errorf("route name asked for %s", path); return "" }, path)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"prefetch_max_event": 5}`, `field "prefetch_max_event": unknown field`},
		{`{"prefetch_max_events": "5"}`, `field "prefetch_max_events": want an integer, got "5"`},
		{`{"prefetch_max_events": 2.5}`, `field "prefetch_max_events": want an integer, got 2.5`},
		{`{"prefetch_max_events": 0}`, `field "prefetch_max_events": 0 is out of range [1, 1000]`},
		{`{"max_event_bytes": 10}`, `field "max_event_bytes": 10 is out of range [1024, 67108864]`},
		{`{"tail_bytes": 100}`, `field "tail_bytes": 100 is out of range [1024, 16777216]`},
		{`{"parse_every_event": 1}`, `field "parse_every_event": want true or false, got 1`},
		{`{"enabled": "yes"}`, `field "enabled": want true or false, got "yes"`},
		{`{"embedded_error_action": "drop"}`, `field "embedded_error_action": want one of reject, record, got "drop"`},
		{`{"api": "palm"}`, `field "api": want one of openai_chat, openai_responses, anthropic_messages, gemini, bedrock_converse, bedrock_invoke, ollama, cohere, got "palm"`},
		{`{"log": 1}`, `field "log": want one of json, off, got 1`},
		{`{"routes": {}}`, `field "routes": want a list, got {}`},
		{`{"routes": [1]}`, `field "routes[0]": want an object, got 1`},
		{`{"routes": [{"enabled": false}]}`, `field "routes[0]": needs "name" or "path_prefix" to match on`},
		{`{"routes": [{"name": ""}]}`, `field "routes[0].name": want a non-empty string, got ""`},
		{`{"routes": [{"name": "a", "routes": []}]}`, `field "routes[0].routes": routes cannot be nested`},
		{`{"routes": [{"name": "a", "max_models": -1}]}`, `field "routes[0].max_models": -1 is out of range [1, 10000]`},
		{`{"routes": [{"name": "a", "bogus": 1}]}`, `field "routes[0].bogus": unknown field`},
		{`{"log": "json", "log": "off"}`, `field "log": appears more than once`},
		{`{"log": "json",}`, `not valid JSON at byte 16`},
		{`[]`, `want a JSON object at the top level`},
	}
	for _, c := range cases {
		_, err := parseConfig([]byte(c.in))
		if err == nil {
			t.Errorf("%s: accepted", c.in)
			continue
		}
		if !strings.HasPrefix(err.Error(), "tokenmeter: invalid configuration: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %q\nwant it to contain %q", c.in, err, c.want)
		}
	}
}

// TestPluginRefusesBadConfiguration checks the host sees a failed start
// and one critical log line naming the field.
func TestPluginRefusesBadConfiguration(t *testing.T) {
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		host, status := tryStart(t, vm, `{"prefetch_max_events": "many"}`)
		if status != types.OnPluginStartStatusFailed {
			t.Fatal("plugin started with a bad configuration")
		}
		logs := host.GetCriticalLogs()
		if len(logs) != 1 || !strings.Contains(logs[0], `field "prefetch_max_events"`) {
			t.Errorf("critical logs = %q", logs)
		}
	})
}

func TestTickPeriod(t *testing.T) {
	cases := []struct {
		config string
		want   uint32
	}{
		{`{}`, 100},
		{`{"prefetch_timeout_ms": 200}`, 50},
		{`{"routes": [{"name": "r", "prefetch_timeout_ms": 1}]}`, 5},
	}
	for _, c := range cases {
		pc, err := parseConfig([]byte(c.config))
		if err != nil {
			t.Fatal(err)
		}
		if got := tickPeriodMS(pc); got != c.want {
			t.Errorf("%s: tick %d, want %d", c.config, got, c.want)
		}
	}
}
