//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"testing"
)

// TestPerRoute sends the same overloaded-inside-200 stream to each route of
// demo.yaml: the default route rejects it with 529; a route switched off by
// Envoy (typed_per_filter_config) or by tokenmeter's routes list (by route
// name) passes it untouched with no filter state; the record-only route
// passes it but records the error.
func TestPerRoute(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	c := caseNamed(t, "anthropic/overloaded")
	cases := []struct {
		prefix, route string
		wantStatus    int
		wantUsage     map[string]any // nil: no filter state at all
	}{
		{"", "default", 529, map[string]any{"outcome": "embedded_error", "error_type": "overloaded_error"}},
		{"/unmetered", "unmetered", 200, nil},
		{"/meter-off", "meter-off", 200, nil},
		{"/record", "record-only", 200, map[string]any{"provider": "anthropic", "error_type": "overloaded_error"}},
	}
	for _, tc := range cases {
		t.Run(tc.route, func(t *testing.T) {
			t.Parallel()
			req, id := newRequest(t.Context(), t, s.addr, tc.prefix, c, nil)
			resp, body := call(t, clients["HTTP/1.1"], req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusOK && !bytes.Equal(body, c.Data) {
				t.Fatalf("client got %s, upstream sent %s", digest(body), digest(c.Data))
			}
			e := s.entry(t, id)
			if e.String("route") != tc.route {
				t.Errorf("route %q, want %q", e.String("route"), tc.route)
			}
			if tc.wantUsage != nil {
				checkUsage(t, e, tc.wantUsage)
				return
			}
			for k, v := range e {
				if len(k) > 4 && k[:4] == "llm_" && v != nil {
					t.Errorf("filter state %s = %v on a route where tokenmeter is off", k, v)
				}
			}
		})
	}
}
