package sseparse

import (
	"encoding/binary"
	"math/bits"
)

// Line and string ends are found with indexByte, which is bytes.IndexByte
// except in WebAssembly. There Go's IndexByte is a hand-written loop four
// bytes at a time, and on the long lines of an LLM stream (a few hundred
// bytes per event) it is most of the framer's time; wordIndexByte, reading
// 32 bytes per step as four 64-bit words, takes about two thirds of that.
// Natively IndexByte uses vector instructions and stays.

// wordIndexByte returns the index of the first c in p, or -1.
func wordIndexByte(p []byte, c byte) int {
	const lows, highs = 0x0101010101010101, 0x8080808080808080
	pattern := lows * uint64(c)
	i := 0
	// A word w has a byte equal to c when w^pattern has a zero byte, which
	// (x-lows) &^ x & highs flags (with false positives only above a true
	// zero byte, which the exact search below settles).
	for ; i+32 <= len(p); i += 32 {
		q := p[i : i+32 : i+32]
		w0 := binary.LittleEndian.Uint64(q) ^ pattern
		w1 := binary.LittleEndian.Uint64(q[8:]) ^ pattern
		w2 := binary.LittleEndian.Uint64(q[16:]) ^ pattern
		w3 := binary.LittleEndian.Uint64(q[24:]) ^ pattern
		if ((w0-lows)&^w0|(w1-lows)&^w1|(w2-lows)&^w2|(w3-lows)&^w3)&highs != 0 {
			break
		}
	}
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:]) ^ pattern
		if m := (w - lows) &^ w & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if p[i] == c {
			return i
		}
	}
	return -1
}

// wordLastIndexByte returns the index of the last c in p, or -1. Go's
// bytes.LastIndexByte is a byte-at-a-time loop on every platform, and a
// Tail runs it backwards over a few KiB of every chunk it keeps the end of.
func wordLastIndexByte(p []byte, c byte) int {
	const lows, highs, sevens = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	pattern := lows * uint64(c)
	i := len(p)
	// The quick test of wordIndexByte finds every block holding c, but may
	// flag a byte above the true one, so the words of a flagged block are
	// searched with the exact test: ((w&sevens)+sevens)|w has the high bit
	// of each byte set exactly where the byte is not zero.
	for ; i >= 32; i -= 32 {
		q := p[i-32 : i : i]
		w0 := binary.LittleEndian.Uint64(q) ^ pattern
		w1 := binary.LittleEndian.Uint64(q[8:]) ^ pattern
		w2 := binary.LittleEndian.Uint64(q[16:]) ^ pattern
		w3 := binary.LittleEndian.Uint64(q[24:]) ^ pattern
		if ((w0-lows)&^w0|(w1-lows)&^w1|(w2-lows)&^w2|(w3-lows)&^w3)&highs != 0 {
			break
		}
	}
	for ; i >= 8; i -= 8 {
		w := binary.LittleEndian.Uint64(p[i-8:]) ^ pattern
		if m := ^((w&sevens + sevens) | w | sevens); m != 0 {
			return i - 1 - bits.LeadingZeros64(m)>>3
		}
	}
	for i--; i >= 0; i-- {
		if p[i] == c {
			return i
		}
	}
	return -1
}
