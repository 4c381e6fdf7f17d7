//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// injectPrefix leads to demo.yaml's inject-usage route, where tokenmeter's
// routes list turns inject_stream_usage on.
const injectPrefix = "/inject-usage"

// TestInjectStreamUsage sends an OpenAI Chat stream request through
// demo.yaml's inject-usage route and its default route (the option off),
// over HTTP/1.1 and HTTP/2, with and without stream_options.include_usage.
// The fake provider, like OpenAI, sends usage only when the request sets
// include_usage true. When the client leaves it unset and the option is on,
// the upstream gets the client's body with include_usage true added, the
// client gets the upstream's bytes minus exactly the usage-only chunk, and
// the access log shows that chunk's usage. Otherwise request and answer
// pass unchanged, and a call whose answer had no usage is recorded with
// usage_reported false.
func TestInjectStreamUsage(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	c := caseNamed(t, "openai/chat-stream-injected")
	raw, err := os.ReadFile(filepath.Join(env.testdata, c.Fixture))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		prefix       string
		includeUsage any  // the client's stream_options.include_usage; nil: no stream_options
		injected     bool // tokenmeter must add include_usage and remove the usage chunk
		reported     bool // the upstream sends usage, and the log shows it
	}{
		{"unset, option on", injectPrefix, nil, true, true},
		{"unset, option off", "", nil, false, false},
		{"explicit false, option on", injectPrefix, false, false, false},
		{"explicit true, option on", injectPrefix, true, false, true},
	}
	for _, tc := range cases {
		sent := withIncludeUsage(t, c, tc.includeUsage)
		for proto, client := range clients {
			t.Run(tc.name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				req, id := newRequest(t.Context(), t, s.addr, tc.prefix, sent, nil)
				resp, got := call(t, client, req)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				forwarded, ok := env.fake.Received(id)
				if !ok {
					t.Fatalf("the fake provider got no request %s", id)
				}
				checkForwarded(t, sent.Request.Body, forwarded, tc.injected)

				upstream, err := fakellm.Render(c.Fixture, raw, c.Request.Path, forwarded)
				if err != nil {
					t.Fatal(err)
				}
				// Issue 6: the client receives exactly the bytes it would
				// have received without tokenmeter, although the upstream
				// sent more (the usage chunk, "usage":null members).
				alone, err := fakellm.Render(c.Fixture, raw, c.Request.Path, sent.Request.Body)
				if err != nil {
					t.Fatal(err)
				}
				if tc.injected == bytes.Equal(upstream, alone) {
					t.Fatalf("upstream sent %s, without injection %s: injected=%v", digest(upstream), digest(alone), tc.injected)
				}
				if !bytes.Equal(got, alone) {
					t.Fatalf("client got %s, without tokenmeter it would get %s (upstream sent %s)", digest(got), digest(alone), digest(upstream))
				}
				wantUsage := c.Usage
				if !tc.reported {
					wantUsage = unreported(c.Usage)
				}
				checkUsage(t, s.entry(t, id), wantUsage)
			})
		}
	}
}

// withIncludeUsage returns c with its request body's
// stream_options.include_usage set to v, or as it is when v is nil.
func withIncludeUsage(t *testing.T, c fixtureCase, v any) fixtureCase {
	t.Helper()
	if v == nil {
		return c
	}
	var body map[string]any
	if err := json.Unmarshal(c.Request.Body, &body); err != nil {
		t.Fatal(err)
	}
	body["stream_options"] = map[string]any{"include_usage": v}
	var err error
	if c.Request.Body, err = json.Marshal(body); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkForwarded compares the request body the upstream got with the
// client's: the same bytes, or, when tokenmeter injected, the same JSON
// plus stream_options.include_usage true.
func checkForwarded(t *testing.T, client, upstream []byte, injected bool) {
	t.Helper()
	if !injected {
		if !bytes.Equal(upstream, client) {
			t.Errorf("the upstream got %s, the client sent %s", upstream, client)
		}
		return
	}
	var c, u map[string]any
	if err := json.Unmarshal(client, &c); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(upstream, &u); err != nil {
		t.Fatalf("the upstream got a request body that is not JSON: %v: %s", err, upstream)
	}
	if !reflect.DeepEqual(u["stream_options"], map[string]any{"include_usage": true}) {
		t.Errorf("the upstream got stream_options %v, want include_usage true: %s", u["stream_options"], upstream)
	}
	delete(u, "stream_options")
	if !reflect.DeepEqual(u, c) {
		t.Errorf("the upstream got %s, want the client's body %s plus stream_options", upstream, client)
	}
}

// unreported is the record of a call whose answer carried no usage: the
// same call, no token figures, usage_reported false.
func unreported(usage map[string]any) map[string]any {
	u := maps.Clone(usage)
	for _, k := range []string{"input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens", "total_tokens"} {
		delete(u, k)
	}
	u["usage_reported"] = false
	return u
}
