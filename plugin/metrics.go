package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Metric names. Labels are encoded into the name as ".<label>.<value>"
// pairs so that Envoy's stats_tags can lift them into Prometheus labels
// (see examples/envoy for the regexes).
const (
	metricSkipped         = "tokenmeter.skipped"
	metricParseErrors     = "tokenmeter.parse_errors"
	metricOversizeEvents  = "tokenmeter.oversize_events"
	metricRecoveredPanics = "tokenmeter.recovered_panics"
	metricNotInspectable  = "tokenmeter.not_inspectable"
	metricBodyTooLarge    = "tokenmeter.body_too_large"
	metricPrefetchTimeout = "tokenmeter.prefetch_timeouts"
	metricTotalMismatch   = "tokenmeter.total_mismatch"
	otherModel            = "other"
)

// metrics caches metric ids by name (defining a metric is a host call) and
// keeps the model label bounded. One per VM; Envoy runs one VM per worker
// and sums the per-VM values under each name.
type metrics struct {
	counters   map[string]proxywasm.MetricCounter
	histograms map[string]proxywasm.MetricHistogram
	models     map[string]struct{}
}

func newMetrics() *metrics {
	return &metrics{
		counters:   map[string]proxywasm.MetricCounter{},
		histograms: map[string]proxywasm.MetricHistogram{},
		models:     map[string]struct{}{},
	}
}

func (m *metrics) count(name string, n uint64) {
	c, ok := m.counters[name]
	if !ok {
		c = proxywasm.DefineCounterMetric(name)
		m.counters[name] = c
	}
	c.Increment(n)
}

func (m *metrics) observe(name string, v uint64) {
	h, ok := m.histograms[name]
	if !ok {
		h = proxywasm.DefineHistogramMetric(name)
		m.histograms[name] = h
	}
	h.Record(v)
}

// modelLabel returns the model's metric label: sanitized, and "other" once
// maxModels distinct models have been seen, so a stream of odd model names
// cannot blow up Envoy's stats memory.
func (m *metrics) modelLabel(model string, maxModels int) string {
	label := sanitizeLabel(model)
	if _, ok := m.models[label]; ok {
		return label
	}
	if len(m.models) >= maxModels {
		return otherModel
	}
	m.models[label] = struct{}{}
	return label
}

// sanitizeLabel keeps a label value to [A-Za-z0-9_-]: dots would split the
// stat name, and anything else makes the tag regexes fragile.
func sanitizeLabel(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !labelByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !labelByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// emitCall records one finished call: tokens by type, the call by outcome,
// and its time to first byte and duration.
func (m *metrics) emitCall(r *record, maxModels int) {
	labels := ".provider." + sanitizeLabel(r.provider) + ".model." + m.modelLabel(r.model, maxModels)
	u := &r.usage
	for _, t := range [...]struct {
		name string
		n    uint64
	}{
		{"input", u.InputTokens},
		{"output", u.OutputTokens},
		{"cache_read", u.CacheReadTokens},
		{"cache_creation", u.CacheCreationTokens},
		{"reasoning", u.ReasoningTokens},
	} {
		if t.n > 0 {
			m.count("tokenmeter.tokens"+labels+".type."+t.name, t.n)
		}
	}
	m.count("tokenmeter.calls"+labels+".outcome."+r.outcome, 1)
	if r.ttfbMS >= 0 {
		m.observe("tokenmeter.ttfb_ms"+labels, uint64(r.ttfbMS))
	}
	m.observe("tokenmeter.duration_ms"+labels, uint64(r.durationMS))
	if u.TotalMismatch {
		m.count(metricTotalMismatch, 1)
	}
}
