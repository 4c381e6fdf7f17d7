//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// sdkResult is what e2e/clients/sdk_call.py prints.
type sdkResult struct {
	OK         bool           `json:"ok"`
	Text       string         `json:"text"`
	Usage      map[string]any `json:"usage"`
	ErrorClass string         `json:"error_class"`
	Status     int            `json:"status"`
	Classes    []string       `json:"classes"`
	Message    string         `json:"message"`
}

// runSDK makes one call with an official Python SDK from the .venv.
func runSDK(t *testing.T, baseURL string, args ...string) sdkResult {
	t.Helper()
	python := filepath.Join(env.root, ".venv", "bin", "python")
	script := filepath.Join(env.root, "e2e", "clients", "sdk_call.py")
	cmd := exec.CommandContext(t.Context(), python, append([]string{script, "--base-url", baseURL}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdk_call.py %v: %v\n%s", args, err, out)
	}
	var r sdkResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("sdk_call.py printed %q: %v", out, err)
	}
	return r
}

const helloText = "Hello! Bonjour! Hola!"

// TestSDKClients drives the official openai and anthropic SDKs, first
// straight at the fake provider and then through Envoy with tokenmeter:
// good calls read the same answer both ways, and an error inside a 200
// reaches the SDK through Envoy as the mapped status, raising the SDK's own
// exception for it. An OpenAI Chat stream that does not ask for usage reads
// as usual (the text, no usage chunk) on the inject-usage route too, where
// tokenmeter asks for usage on its behalf and records it.
func TestSDKClients(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	targets := map[string]string{"direct": "http://" + env.fakeAddr, "envoy": "http://" + s.addr}
	fixture := func(name string) string { return "--header=" + fakellm.HeaderFixture + "=" + name }
	injected := caseNamed(t, "openai/chat-stream-injected")
	noUsageAsked := []string{"--sdk=openai", "--model=gpt-4.1-mini", "--stream", "--no-include-usage", fixture(injected.Fixture)}
	cases := []struct {
		name      string
		args      []string
		viaEnvoy  bool   // only through Envoy (the fake upstream alone cannot map errors)
		prefix    string // route prefix through Envoy
		noUsage   bool   // the SDK must see no usage
		logged    map[string]any
		wantError string // SDK exception class, "" for success
		wantCode  int
		wantBase  string // a base class the exception must also be
	}{
		{name: "openai chat stream", args: []string{"--sdk=openai", "--model=gpt-4o-mini", "--stream"}},
		{name: "openai chat", args: []string{"--sdk=openai", "--model=o4-mini"}},
		{name: "openai responses stream", args: []string{"--sdk=openai", "--api=responses", "--model=gpt-4.1-mini", "--stream"}},
		{name: "openai responses", args: []string{"--sdk=openai", "--api=responses", "--model=o4-mini"}},
		{name: "openai chat stream without usage, injected", args: noUsageAsked, prefix: injectPrefix, noUsage: true,
			logged: injected.Usage},
		{name: "openai chat stream without usage", args: noUsageAsked, viaEnvoy: true, noUsage: true,
			logged: unreported(injected.Usage)},
		{name: "anthropic stream", args: []string{"--sdk=anthropic", "--model=claude-sonnet-4-5", "--stream"}},
		{name: "anthropic", args: []string{"--sdk=anthropic", "--model=claude-haiku-4-5"}},
		{name: "anthropic overloaded inside 200", viaEnvoy: true,
			args:      []string{"--sdk=anthropic", "--model=claude-sonnet-4-5", "--stream", fixture("anthropic/overloaded.sse")},
			wantError: "OverloadedError", wantCode: 529, wantBase: "APIStatusError"},
		{name: "openai rate limit inside 200", viaEnvoy: true,
			args:      []string{"--sdk=openai", "--model=gpt-4o-mini", "--stream", fixture("openai/chat-stream-ratelimit.sse")},
			wantError: "RateLimitError", wantCode: 429, wantBase: "APIStatusError"},
		{name: "openai 429 status", viaEnvoy: true,
			args:      []string{"--sdk=openai", "--model=gpt-4o-mini", fixture("openai/chat-429.json"), "--header=" + fakellm.HeaderStatus + "=429"},
			wantError: "RateLimitError", wantCode: 429, wantBase: "APIStatusError"},
	}
	for _, tc := range cases {
		for target, baseURL := range targets {
			if tc.viaEnvoy && target != "envoy" {
				continue
			}
			t.Run(tc.name+"/"+target, func(t *testing.T) {
				t.Parallel()
				args := tc.args
				id := fmt.Sprintf("e2e-sdk-%d-%d", os.Getpid(), requestSeq.Add(1))
				if target == "envoy" {
					baseURL += tc.prefix
					args = append(slices.Clone(args), "--header=x-request-id="+id)
				}
				r := runSDK(t, baseURL, args...)
				if tc.wantError == "" {
					if !r.OK || r.Text != helloText || (r.Usage == nil) != tc.noUsage {
						t.Fatalf("got %+v, want text %q and usage unless noUsage (%v)", r, helloText, tc.noUsage)
					}
					if tc.logged != nil && target == "envoy" {
						checkUsage(t, s.entry(t, id), tc.logged)
					}
					return
				}
				if r.OK || r.ErrorClass != tc.wantError || r.Status != tc.wantCode || !slices.Contains(r.Classes, tc.wantBase) {
					t.Fatalf("got %+v, want %s (a %s) with status %d", r, tc.wantError, tc.wantBase, tc.wantCode)
				}
			})
		}
	}
}
