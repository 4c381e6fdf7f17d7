//go:build !wasm

package sseparse

import "bytes"

// indexByte is bytes.IndexByte outside WebAssembly (see indexbyte.go).
func indexByte(p []byte, c byte) int { return bytes.IndexByte(p, c) }
