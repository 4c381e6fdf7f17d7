//go:build !wasip1

package main

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// responseBody is proxywasm.GetHttpResponseBody (see body_wasip1.go).
func responseBody(start, maxSize int) ([]byte, error) {
	return proxywasm.GetHttpResponseBody(start, maxSize)
}
