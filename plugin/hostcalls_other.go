//go:build !wasip1

package main

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// responseBody is proxywasm.GetHttpResponseBody (see hostcalls_wasip1.go).
func responseBody(start, maxSize int) ([]byte, error) {
	return proxywasm.GetHttpResponseBody(start, maxSize)
}

// setProperty is proxywasm.SetProperty for a one-element path (see
// hostcalls_wasip1.go).
func setProperty(key string, value []byte) error {
	return proxywasm.SetProperty([]string{key}, value)
}

// setPropertyString is setProperty for a string value.
func setPropertyString(key, value string) error { return setProperty(key, []byte(value)) }

// clockBase is where monotonicNanos counts from natively.
var clockBase = time.Now()

// monotonicNanos is the time since clockBase (see hostcalls_wasip1.go).
func monotonicNanos() int64 { return int64(time.Since(clockBase)) }
