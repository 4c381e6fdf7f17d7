// Command tokenmeter is the proxy-wasm HTTP filter that meters LLM API calls
// inside Envoy. main only registers the VM context; the behaviour lives in
// the other files of this package, which wire sseparse and parsers to the
// proxy-wasm ABI.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetVMContext(&vmContext{})
}

// vmContext creates one pluginContext per plugin configuration.
type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{metrics: newMetrics(), held: map[uint32]*httpContext{}}
}
