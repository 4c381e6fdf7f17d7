//go:build wasm

package sseparse

// indexByte is wordIndexByte in WebAssembly (see indexbyte.go).
func indexByte(p []byte, c byte) int { return wordIndexByte(p, c) }
