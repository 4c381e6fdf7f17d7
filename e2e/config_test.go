//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestInvalidConfig starts minimal.yaml with broken plugin configurations:
// Envoy must refuse to start, and its log must carry tokenmeter's one-line
// reason naming the field. Reading Envoy's log is the assertion here.
func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, config, wantInLine string
	}{
		{"unknown field", `{"no_such_field": 1}`, `"no_such_field"`},
		{"wrong type", `{"prefetch_max_events": "five"}`, `"prefetch_max_events"`},
		{"bad enum", `{"embedded_error_action": "explode"}`, `"embedded_error_action"`},
		{"bad route entry", `{"routes": [{"name": "x", "enabled": "no"}]}`, `enabled`},
		{"not JSON", `{"enabled": tru`, `JSON`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := startStack("minimal", map[string]string{"TOKENMETER_CONFIG": tc.config})
			if err == nil {
				s.envoy.Stop()
				t.Fatalf("Envoy started with plugin configuration %s", tc.config)
			}
			if s == nil {
				t.Fatal(err)
			}
			log := s.envoy.Log()
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, "tokenmeter: invalid configuration") && strings.Contains(line, tc.wantInLine) {
					return
				}
			}
			t.Fatalf("no line with tokenmeter's reason naming %s; Envoy said:\n%s", tc.wantInLine, log)
		})
	}
}
