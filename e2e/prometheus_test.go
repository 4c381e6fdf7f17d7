//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrometheusLabels runs minimal.yaml (plugin configuration {}, HTTP/2 to
// the upstream) on its own Envoy so counters start at zero, and reads
// /stats/prometheus: the stats_tags the examples ship turn tokenmeter's
// metric names into provider, model, type and outcome labels.
func TestPrometheusLabels(t *testing.T) {
	t.Parallel()
	s := example(t, "minimal", nil)
	for _, name := range []string{"openai/chat-stream", "anthropic/messages-stream"} {
		c := caseNamed(t, name)
		req, id := newRequest(t.Context(), t, s.addr, "", c, nil)
		if resp, body := call(t, clients["HTTP/1.1"], req); resp.StatusCode != 200 || !bytes.Equal(body, c.Data) {
			t.Fatalf("%s: status %d, body %s", name, resp.StatusCode, digest(body))
		}
		s.entry(t, id)
	}
	want := map[string]float64{
		`tokenmeter_tokens{model="gpt-4o-mini-2024-07-18",provider="openai",type="input"}`:                 14,
		`tokenmeter_tokens{model="gpt-4o-mini-2024-07-18",provider="openai",type="output"}`:                9,
		`tokenmeter_calls{model="gpt-4o-mini-2024-07-18",outcome="completed",provider="openai"}`:           1,
		`tokenmeter_tokens{model="claude-sonnet-4-5-20250929",provider="anthropic",type="input"}`:          2390,
		`tokenmeter_tokens{model="claude-sonnet-4-5-20250929",provider="anthropic",type="output"}`:         12,
		`tokenmeter_tokens{model="claude-sonnet-4-5-20250929",provider="anthropic",type="cache_read"}`:     2048,
		`tokenmeter_tokens{model="claude-sonnet-4-5-20250929",provider="anthropic",type="cache_creation"}`: 300,
		`tokenmeter_calls{model="claude-sonnet-4-5-20250929",outcome="completed",provider="anthropic"}`:    1,
	}
	var got map[string]float64
	deadline := time.Now().Add(12 * time.Second)
	for {
		text, err := s.envoy.Admin(t.Context(), "/stats/prometheus")
		if err != nil {
			t.Fatal(err)
		}
		got = parsePrometheus(text)
		missing := 0
		for k, v := range want {
			if got[k] != v {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "tokenmeter_") {
			t.Logf("have %s %v", k, got[k])
		}
	}
}

// parsePrometheus reads the text exposition format into samples keyed by
// name{labels} with the labels sorted, so keys compare exactly.
func parsePrometheus(text []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		if cut < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			continue
		}
		series := line[:cut]
		name, labels, _ := strings.Cut(series, "{")
		labels = strings.TrimSuffix(labels, "}")
		var parts []string
		if labels != "" {
			parts = strings.Split(labels, ",")
		}
		sort.Strings(parts)
		out[name+"{"+strings.Join(parts, ",")+"}"] = v
	}
	return out
}
