package main

import (
	"encoding/json"
	"io"
	"log"
	"math/rand"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// wasmPath is the module `make build` writes; `make test` builds it first.
const wasmPath = "../dist/tokenmeter.wasm"

// TestMain silences the emulator, which prints every plugin log line.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

var (
	wasmOnce sync.Once
	wasmVM   proxytest.WasmVMContext
	wasmErr  error
)

// sharedWasmVM compiles the module once per test binary. Envoy, too, runs
// many streams and plugin configurations through one VM, so sharing it
// across tests is faithful, and it keeps the suite fast.
func sharedWasmVM(t *testing.T) proxytest.WasmVMContext {
	t.Helper()
	wasmOnce.Do(func() {
		var code []byte
		if code, wasmErr = os.ReadFile(wasmPath); wasmErr == nil {
			wasmVM, wasmErr = proxytest.NewWasmVMContext(code)
		}
	})
	if wasmErr != nil {
		t.Fatalf("loading %s (run `make build` first): %v", wasmPath, wasmErr)
	}
	return wasmVM
}

// eachVM runs a test twice: with the plugin compiled natively into the
// test binary, and as the compiled dist/tokenmeter.wasm in wazero.
func eachVM(t *testing.T, f func(t *testing.T, vm types.VMContext)) {
	t.Run("native", func(t *testing.T) { f(t, &vmContext{}) })
	t.Run("wasm", func(t *testing.T) { f(t, sharedWasmVM(t)) })
}

// startHost starts the plugin with the given configuration and fails the
// test if it refuses to start.
func startHost(t *testing.T, vm types.VMContext, config string) proxytest.HostEmulator {
	t.Helper()
	host, status := tryStart(t, vm, config)
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("plugin refused configuration %s: %v", config, host.GetCriticalLogs())
	}
	return host
}

func tryStart(t *testing.T, vm types.VMContext, config string) (proxytest.HostEmulator, types.OnPluginStartStatus) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(config))
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	return host, host.StartPlugin()
}

// exchange is one HTTP call as Envoy would drive the filter through it.
type exchange struct {
	method, path, authority string
	routeName               string
	requestBody             string
	status                  int
	headers                 [][2]string // extra response headers
	chunks                  [][]byte
	// leaveAfter > 0 makes the client go away after that many chunks.
	leaveAfter int
	// afterChunk, if set, runs after each chunk (e.g. to advance the tick).
	afterChunk func(host proxytest.HostEmulator, i int)
}

// observed is what the downstream client and the access log would see.
type observed struct {
	forwarded []byte // response body bytes released downstream
	released  bool   // response headers were released downstream
	// releasedAt is the chunk after which the headers were released: -1
	// when they passed at once, len(chunks) when never.
	releasedAt int
	local      *proxytest.LocalHttpResponse
	request    []byte         // request body as sent upstream
	headers    [][2]string    // response headers as released
	usage      map[string]any // llm.usage filter state, parsed
	infoLogs   []string
}

// run drives one exchange through the host, tracking the bytes the host
// forwards downstream exactly as Envoy does: nothing while the filter
// pauses, the whole buffered body when it continues.
func run(t *testing.T, host proxytest.HostEmulator, ex exchange) observed {
	t.Helper()
	if ex.method == "" {
		ex.method = "POST"
	}
	if ex.status == 0 {
		ex.status = 200
	}
	id := host.InitializeHttpContext()
	if ex.routeName != "" {
		if err := host.SetProperty([]string{"xds", "route_name"}, []byte(ex.routeName)); err != nil {
			t.Fatal(err)
		}
	}
	reqHeaders := [][2]string{{":method", ex.method}, {":path", ex.path}, {":authority", ex.authority}, {"x-request-id", "req-1"}}
	host.CallOnRequestHeaders(id, reqHeaders, ex.requestBody == "")
	if ex.requestBody != "" {
		if a := host.CallOnRequestBody(id, []byte(ex.requestBody), true); a != types.ActionContinue {
			t.Fatalf("request body paused")
		}
	}
	var o observed
	o.request = host.GetCurrentRequestBody(id)
	respHeaders := append([][2]string{{":status", itoa(ex.status)}}, ex.headers...)
	o.released = host.CallOnResponseHeaders(id, respHeaders, len(ex.chunks) == 0) == types.ActionContinue
	o.releasedAt = len(ex.chunks)
	if o.released {
		o.releasedAt = -1
	}
	paused := false
	for i, c := range ex.chunks {
		wasReleased := o.released
		eos := i == len(ex.chunks)-1 && ex.leaveAfter == 0
		a := host.CallOnResponseBody(id, c, eos)
		if o.local = host.GetSentLocalResponse(id); o.local != nil {
			break
		}
		if a == types.ActionContinue {
			o.forwarded = append(o.forwarded, host.GetCurrentResponseBody(id)...)
			o.released, paused = true, false
		} else {
			paused = true
		}
		if ex.afterChunk != nil {
			ex.afterChunk(host, i)
			if paused && host.GetCurrentHttpStreamAction(id) == types.ActionContinue {
				// Resumed from the tick: Envoy sends the buffered body now
				// and later callbacks see only new bytes.
				o.forwarded = append(o.forwarded, host.GetCurrentResponseBody(id)...)
				o.released, paused = true, false
				dropEmulatorBuffer(t, host, id)
			}
		}
		if o.released && !wasReleased {
			o.releasedAt = i
		}
		if ex.leaveAfter > 0 && i+1 == ex.leaveAfter {
			break
		}
	}
	o.headers = host.GetCurrentResponseHeaders(id)
	host.CompleteHttpContext(id)
	o.usage = readUsage(t, host)
	o.infoLogs = host.GetInfoLogs()
	return o
}

// dropEmulatorBuffer clears the emulator's buffered response body after a
// resume. Envoy flushes that buffer when a paused stream is resumed; the
// emulator instead keeps prepending it to later chunks, which would feed
// the filter bytes Envoy would never show it again.
func dropEmulatorBuffer(t *testing.T, host proxytest.HostEmulator, id uint32) {
	t.Helper()
	streams := reflect.ValueOf(host).Elem().FieldByName("httpHostEmulator").Elem().FieldByName("httpStreams")
	stream := streams.MapIndex(reflect.ValueOf(id)).Elem()
	buf := stream.FieldByName("responseBodyBuffer")
	reflect.NewAt(buf.Type(), unsafe.Pointer(buf.UnsafeAddr())).Elem().SetZero()
}

func readUsage(t *testing.T, host proxytest.HostEmulator) map[string]any {
	t.Helper()
	raw, err := host.GetProperty([]string{"llm.usage"})
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("llm.usage is not JSON: %v: %s", err, raw)
	}
	return m
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// cuttings splits a body the ways the tests replay it: whole, one byte at
// a time, and at seeded random points.
func cuttings(body []byte) map[string][][]byte {
	one := make([][]byte, len(body))
	for i := range body {
		one[i] = body[i : i+1]
	}
	out := map[string][][]byte{"whole": {body}, "one-byte": one}
	for _, seed := range []int64{7, 42} {
		rng := rand.New(rand.NewSource(seed))
		var parts [][]byte
		for rest := body; len(rest) > 0; {
			n := min(1+rng.Intn(200), len(rest))
			parts, rest = append(parts, rest[:n]), rest[n:]
		}
		out["random-"+itoa(int(seed))] = parts
	}
	return out
}

// tickAfter returns an afterChunk hook that lets the prefetch timeout pass
// and fires the plugin tick after chunk i.
func tickAfter(i int, wait time.Duration) func(proxytest.HostEmulator, int) {
	return func(host proxytest.HostEmulator, n int) {
		if n == i {
			time.Sleep(wait)
			host.Tick()
		}
	}
}
