//go:build wasip1

package main

import (
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// bufferHTTPResponseBody is the proxy-wasm ABI's buffer type of the
// response body.
const bufferHTTPResponseBody = 1

// Host calls the plugin makes on every call, made directly where the SDK
// would allocate; hostcalls_other.go has the SDK versions for native tests.

// The host writes where it put the bytes into these. They are globals (a VM
// runs one callback at a time) so that, unlike the SDK's locals, they do
// not escape to the heap: two allocations less per body callback.
var (
	bodyData *byte
	bodySize int32
)

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bufferType int32, start, maxSize int32, data unsafe.Pointer, size *int32) int32

// responseBody is proxywasm.GetHttpResponseBody, called once or twice per
// body callback, without the SDK's per-call allocations (see bodyData).
// Every failure comes back as types.ErrorStatusNotFound: callers only test
// whether there was one.
func responseBody(start, maxSize int) ([]byte, error) {
	bodyData, bodySize = nil, 0
	if st := proxyGetBufferBytes(bufferHTTPResponseBody, int32(start), int32(maxSize), unsafe.Pointer(&bodyData), &bodySize); st != 0 || bodyData == nil {
		return nil, types.ErrorStatusNotFound
	}
	b := unsafe.Slice(bodyData, bodySize)
	bodyData = nil
	return b, nil
}

//go:wasmimport env proxy_set_property
func proxySetProperty(path *byte, pathSize int32, value *byte, valueSize int32) int32

// setProperty is proxywasm.SetProperty for a one-element path, without the
// SDK's allocations for the path and a string value: the host copies both
// before it returns. It is called a score of times per call.
func setProperty(key string, value []byte) error {
	return setPropertyString(key, unsafe.String(unsafe.SliceData(value), len(value)))
}

// setPropertyString is setProperty for a string value.
func setPropertyString(key, value string) error {
	if st := proxySetProperty(unsafe.StringData(key), int32(len(key)), unsafe.StringData(value), int32(len(value))); st != 0 {
		return types.ErrorStatusNotFound
	}
	return nil
}

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(clockID uint32, precision uint64, time *uint64) uint32

// monotonicNanos reads the host's monotonic clock (WASI clock 1), or 0 if
// it has none: one host call, where time.Now makes two (wall and
// monotonic clock), four times a call.
func monotonicNanos() int64 {
	var t uint64
	if clockTimeGet(1, 1, &t) != 0 {
		return 0
	}
	return int64(t)
}
