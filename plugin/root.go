package main

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// pluginContext holds what all calls of one plugin configuration share:
// the parsed configuration, metrics, and the streams whose headers are
// held by a prefetch, which the tick releases when their time is up.
type pluginContext struct {
	types.DefaultPluginContext
	config  *pluginConfig
	metrics *metrics
	held    map[uint32]*httpContext
}

// OnPluginStart parses the configuration and refuses to start on any
// error, logging one line that names the field.
func (p *pluginContext) OnPluginStart(configSize int) types.OnPluginStartStatus {
	var data []byte
	if configSize > 0 {
		var err error
		data, err = proxywasm.GetPluginConfiguration()
		if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
			proxywasm.LogCriticalf("tokenmeter: reading the plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCritical(err.Error())
		return types.OnPluginStartStatusFailed
	}
	p.config = cfg
	if err := proxywasm.SetTickPeriodMilliSeconds(tickPeriodMS(cfg)); err != nil {
		proxywasm.LogCriticalf("tokenmeter: setting the tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// tickPeriodMS is a quarter of the shortest prefetch timeout, within
// [5, 100] ms: fine enough that a held stream is released close to its
// deadline, coarse enough to cost nothing.
func tickPeriodMS(cfg *pluginConfig) uint32 {
	shortest := cfg.base.PrefetchTimeoutMS
	for _, r := range cfg.routes {
		shortest = min(shortest, r.cfg.PrefetchTimeoutMS)
	}
	return uint32(min(max(shortest/4, 5), 100))
}

// NewHttpContext implements types.PluginContext.
func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{id: contextID, plugin: p}
}

// OnTick releases held streams whose prefetch timeout has passed, so a
// slow first event never delays the client beyond the configured bound.
func (p *pluginContext) OnTick() {
	defer func() {
		if r := recover(); r != nil {
			p.countPanic(r)
		}
	}()
	now := stamp()
	for id, h := range p.held {
		if now-h.heldAt < int64(h.cfg.PrefetchTimeoutMS)*1e6 {
			continue
		}
		p.metrics.count(metricPrefetchTimeout, 1)
		h.release()
		if h.strip != nil {
			h.strip.released(endsAtBoundary(h.tail[:h.tailLen]))
		}
		if err := proxywasm.SetEffectiveContext(id); err == nil {
			_ = proxywasm.ResumeHttpResponse()
		}
	}
}

// countPanic counts and logs a recovered panic. It guards itself: a
// second panic here must not take the proxy down either.
func (p *pluginContext) countPanic(r any) {
	defer func() { _ = recover() }()
	proxywasm.LogErrorf("tokenmeter: recovered from a panic, passing the call through unmetered: %v", r)
	p.metrics.count(metricRecoveredPanics, 1)
}
