//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGrafanaDashboard checks examples/grafana/tokenmeter.json against what
// Envoy really exposes: after a metered call and a skipped one on the demo
// config (stats_tags, 1 s stats flush), every metric a dashboard query uses
// must be in /stats/prometheus with every label the query groups or filters
// by. The plugin-health counters Envoy creates only when something goes
// wrong (a parse error, a recovered panic...) must instead be metric names
// the plugin defines in plugin/metrics.go.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(env.root, "examples", "grafana", "tokenmeter.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var exprs []string
	walk(dash, func(m map[string]any) {
		for _, k := range []string{"expr", "query"} {
			if s, ok := m[k].(string); ok && strings.Contains(s, "tokenmeter_") {
				exprs = append(exprs, s)
			}
		}
	})
	if len(exprs) < 10 {
		t.Fatalf("found %d queries in the dashboard", len(exprs))
	}

	s := example(t, "demo", nil)
	c := caseNamed(t, "openai/chat-stream")
	req, id := newRequest(t.Context(), t, s.addr, "", c, nil)
	if resp, _ := call(t, clients["HTTP/1.1"], req); resp.StatusCode != http.StatusOK {
		t.Fatalf("metered call: status %d", resp.StatusCode)
	}
	s.entry(t, id)
	skip, err := http.Get("http://" + s.addr + "/v1/models") // not an LLM call: counted as skipped
	if err != nil {
		t.Fatal(err)
	}
	skip.Body.Close()

	labels := scrapeLabels(t, s, []string{"tokenmeter_ttfb_ms_bucket", "tokenmeter_duration_ms_bucket", "tokenmeter_tokens", "tokenmeter_calls", "tokenmeter_skipped"})
	defined := pluginMetricNames(t)
	metricRE := regexp.MustCompile(`\btokenmeter_[a-z_]+\b`)
	labelRE := regexp.MustCompile(`\b([a-z_]+)\s*(?:=~|!~|!=|=)\s*"|by\s*\(([^)]*)\)`)
	for _, e := range exprs {
		var used []string
		for _, m := range labelRE.FindAllStringSubmatch(e, -1) {
			used = append(used, m[1])
			for _, l := range strings.Split(m[2], ",") {
				used = append(used, strings.TrimSpace(l))
			}
		}
		for _, name := range metricRE.FindAllString(e, -1) {
			have, scraped := labels[name]
			if !scraped {
				if !defined[name] {
					t.Errorf("query %q uses %s: not in /stats/prometheus and not a metric of plugin/metrics.go", e, name)
				} else if len(used) > 0 {
					t.Errorf("query %q filters %s by labels %v, which that counter does not have", e, name, used)
				}
				continue
			}
			for _, l := range used {
				if l != "" && !slices.Contains(have, l) {
					t.Errorf("query %q uses label %q, which %s does not have (it has %v)", e, l, name, have)
				}
			}
		}
	}
}

// scrapeLabels polls /stats/prometheus until every name in want has a
// series (histograms appear at a stats flush), then returns the label names
// of every tokenmeter series by metric name.
func scrapeLabels(t *testing.T, s *stack, want []string) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(12 * time.Second)
	for {
		text, err := s.envoy.Admin(t.Context(), "/stats/prometheus")
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string][]string{}
		for series := range parsePrometheus(text) {
			name, rest, _ := strings.Cut(series, "{")
			if !strings.HasPrefix(name, "tokenmeter_") {
				continue
			}
			for _, pair := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
				if l, _, ok := strings.Cut(pair, "="); ok && !slices.Contains(labels[name], l) {
					labels[name] = append(labels[name], l)
				}
			}
			if _, ok := labels[name]; !ok {
				labels[name] = []string{}
			}
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(n string) bool { _, ok := labels[n]; return ok })
		if len(missing) == 0 {
			return labels
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stats/prometheus lacks %v; has %v", missing, labels)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pluginMetricNames reads the metric names plugin/metrics.go defines
// ("tokenmeter.x" constants) as Prometheus names.
func pluginMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(env.root, "plugin", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`"tokenmeter\.([a-z_]+)"`).FindAllSubmatch(src, -1) {
		names["tokenmeter_"+string(m[1])] = true
	}
	return names
}
