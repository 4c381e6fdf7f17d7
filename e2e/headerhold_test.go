//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestWithoutHeaderHold runs examples/istio/envoy-equivalent.yaml: the wasm
// filter as Istio and Envoy Gateway build it, without
// allow_on_headers_stop_iteration. With the default configuration every
// metered stream waits for prefetch_timeout_ms before the client gets its
// headers; with the configuration examples/istio/wasmplugin.yaml ships
// (prefetch_timeout_ms 0, embedded_error_action record) it does not, the
// usage is still exact, and an error inside a 200 reaches the client as
// the upstream sent it and is recorded as stream_error.
func TestWithoutHeaderHold(t *testing.T) {
	t.Parallel()
	shipped := wasmPluginConfig(t, filepath.Join(env.root, "examples", "istio", "wasmplugin.yaml"))
	good := caseNamed(t, "openai/chat-stream")
	overloaded := caseNamed(t, "anthropic/overloaded")
	for _, tc := range []struct {
		name     string
		config   string
		slowest  time.Duration // longest wait for the response headers
		fastest  time.Duration // shortest
		recorded bool          // the overloaded fixture is recorded, not rejected
	}{
		{"default configuration", "{}", time.Minute, 900 * time.Millisecond, false},
		{"wasmplugin.yaml configuration", shipped, 600 * time.Millisecond, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startExampleEnvoy(t, "examples/istio/envoy-equivalent.yaml", map[string]string{"TOKENMETER_CONFIG": tc.config})
			req, id := newRequest(t.Context(), t, s.addr, "", good, nil)
			start := time.Now()
			resp, err := clients["HTTP/1.1"].Do(req)
			if err != nil {
				t.Fatal(err)
			}
			waited := time.Since(start)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, good.Data) {
				t.Fatalf("status %d, body %s (%v); want 200 and the fixture", resp.StatusCode, digest(body), err)
			}
			if waited > tc.slowest || waited < tc.fastest {
				t.Errorf("response headers after %v, want between %v and %v", waited, tc.fastest, tc.slowest)
			}
			checkUsage(t, s.entry(t, id), good.Usage)
			if !tc.recorded {
				return
			}
			req, id = newRequest(t.Context(), t, s.addr, "", overloaded, nil)
			resp, body = call(t, clients["HTTP/1.1"], req)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, overloaded.Data) {
				t.Fatalf("overloaded stream: status %d, body %s; want 200 and the upstream's bytes", resp.StatusCode, digest(body))
			}
			checkUsage(t, s.entry(t, id), map[string]any{"outcome": "stream_error", "error_type": "overloaded_error", "status": 200})
		})
	}
}

// wasmPluginConfig returns, as JSON, the pluginConfig of the first
// WasmPlugin in a manifest file.
func wasmPluginConfig(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			t.Fatalf("%s has no WasmPlugin", path)
		} else if err != nil {
			t.Fatal(err)
		}
		if text(doc["kind"]) == "WasmPlugin" {
			return pluginConfigs(t, doc)[0]
		}
	}
}
