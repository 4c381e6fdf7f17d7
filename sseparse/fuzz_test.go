package sseparse

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets, two per framer:
//
//   - FuzzXxxRechunk: a valid stream (a fixture chosen by the input) cut at
//     points the input chooses must give exactly the events of the whole
//     body.
//   - FuzzXxxBytes: arbitrary bytes with a small maximum event size never
//     panic, never let a buffer grow past its bound, never emit a message
//     over the maximum, and still frame the same whatever the chunking.
//
// Run one with: go test -run='^$' -fuzz='^FuzzSSEBytes$' -fuzztime=10s ./sseparse

// boundedFramer is a Framer whose buffers the tests can measure.
type boundedFramer interface {
	Framer
	bufCap() int
}

// framerKind describes one framer for the fuzz targets.
type framerKind struct {
	new func(max int) boundedFramer
	// bound is the most buffer capacity the framer may hold for max.
	bound func(max int) int
	ext   string // fixture file extension
}

var (
	sseKind = framerKind{
		new: func(max int) boundedFramer { return NewSSE(max) },
		// Line carry, event type, data and last ID, each within the max.
		bound: func(max int) int { return 4*max + lineSlack },
		ext:   ".sse",
	}
	arrayKind = framerKind{
		new:   func(max int) boundedFramer { return NewJSONArray(max) },
		bound: func(max int) int { return max },
		ext:   ".array.json",
	}
	ndjsonKind = framerKind{
		new:   func(max int) boundedFramer { return NewNDJSON(max) },
		bound: func(max int) int { return max + 1 },
		ext:   ".ndjson",
	}
	eventStreamKind = framerKind{
		new: func(max int) boundedFramer { return NewEventStream(max) },
		// A straddling frame and a synthesized error payload, each within
		// the maximum, which is at least the smallest frame.
		bound: func(m int) int { return 2 * max(m, esMinFrame) },
		ext:   ".eventstream.txt",
	}
)

// cutPoints turns fuzz bytes into ascending split points within [0, n]: two
// bytes per point, so large bodies can be cut anywhere.
func cutPoints(cuts []byte, n int) []int {
	pts := make([]int, 0, len(cuts)/2)
	for i := 0; i+1 < len(cuts); i += 2 {
		pts = append(pts, (int(cuts[i])<<8|int(cuts[i+1]))%(n+1))
	}
	slices.Sort(pts)
	return pts
}

// fixtureBodies returns the bodies of the fixtures for k.
func fixtureBodies(tb testing.TB, k framerKind) [][]byte {
	var bodies [][]byte
	for _, fx := range loadFixtures(tb) {
		if strings.HasSuffix(fx.name, k.ext) {
			bodies = append(bodies, fx.body)
		}
	}
	return bodies
}

func fuzzRechunk(f *testing.F, k framerKind) {
	bodies := fixtureBodies(f, k)
	for i := range bodies {
		f.Add(uint8(i), []byte{0, 1, 0, 7, 0, 200}, false)
		f.Add(uint8(i), []byte{0, 5, 1, 0}, true)
	}
	f.Fuzz(func(t *testing.T, which uint8, cuts []byte, small bool) {
		body := bodies[int(which)%len(bodies)]
		max := 0
		if small { // exercise dropping and resynchronising too
			max = 100
		}
		whole := runScribbled(k.new(max), [][]byte{slices.Clone(body)})
		got := runScribbled(k.new(max), splitAt(body, cutPoints(cuts, len(body))...))
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("chunked:\n got %v\nwant %v", got, whole)
		}
	})
}

func fuzzBytes(f *testing.F, k framerKind, seeds []string) {
	for _, b := range fixtureBodies(f, k) {
		f.Add(b, []byte{0, 3, 0, 40}, uint8(255))
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte{0, 1, 0, 2, 0, 9}, uint8(7))
	}
	f.Fuzz(func(t *testing.T, body, cuts []byte, maxByte uint8) {
		max := int(maxByte) + 1
		bound := k.bound(max)
		fr := k.new(max)
		var o outcome
		var e Event
		drain := func() {
			for fr.Next(&e) {
				if len(e.Data) > max || len(e.Name) > max || len(e.ID) > max {
					t.Fatalf("event over the maximum %d: %q", max, e.Data)
				}
				o.Events = append(o.Events, copyEvent(&e))
			}
			if c := fr.bufCap(); c > bound {
				t.Fatalf("buffers hold %d bytes, bound is %d", c, bound)
			}
		}
		for _, c := range splitAt(body, cutPoints(cuts, len(body))...) {
			fr.Feed(c)
			drain()
		}
		fr.Close()
		drain()
		o.Stats, o.Err = fr.Stats(), fr.Err()
		if whole := run(k.new(max), [][]byte{body}); !reflect.DeepEqual(o, whole) {
			t.Fatalf("chunked:\n got %v\nwant %v", o, whole)
		}
	})
}

func FuzzSSERechunk(f *testing.F)         { fuzzRechunk(f, sseKind) }
func FuzzJSONArrayRechunk(f *testing.F)   { fuzzRechunk(f, arrayKind) }
func FuzzNDJSONRechunk(f *testing.F)      { fuzzRechunk(f, ndjsonKind) }
func FuzzEventStreamRechunk(f *testing.F) { fuzzRechunk(f, eventStreamKind) }

func FuzzSSEBytes(f *testing.F) {
	var seeds []string
	for _, group := range [][]sseCase{sseSpecCases, sseLenientCases, sseOversizeCases} {
		for _, c := range group {
			seeds = append(seeds, c.body)
		}
	}
	fuzzBytes(f, sseKind, seeds)
}

func FuzzJSONArrayBytes(f *testing.F) {
	fuzzBytes(f, arrayKind, []string{`[{"a":"\"]}"},[1],{}]`, `{"e":{}}{`, "[\r\n{\"a\\\\\":[]}\r\n,\r\n"})
}

func FuzzNDJSONBytes(f *testing.F) {
	fuzzBytes(f, ndjsonKind, []string{"{}\r\n\n \n{\"a\":\r1}\r", "x\ny"})
}

func FuzzEventStreamBytes(f *testing.F) {
	var seeds []string
	for _, c := range eventStreamCases() {
		seeds = append(seeds, string(c.body))
	}
	fuzzBytes(f, eventStreamKind, seeds)
}

// FuzzSSETail and FuzzNDJSONTail: arbitrary bytes framed through a Tail
// from an arbitrary head split, keep size and chunking give the head's
// events and then a suffix of the whole body's events (the last-event-id
// aside, which the skipped middle may have changed), and the Tail keeps a
// suffix of the body at least keep bytes long or back to where it began,
// whether long chunks are offered by their ends (odd seeds) or whole.
func FuzzSSETail(f *testing.F) { fuzzTail(f, false, sseKind) }

func FuzzNDJSONTail(f *testing.F) { fuzzTail(f, true, ndjsonKind) }

func fuzzTail(f *testing.F, ndjson bool, kind framerKind) {
	for _, fx := range loadFixtures(f) {
		if strings.HasSuffix(fx.name, kind.ext) {
			f.Add(fx.body, uint16(len(fx.body)/3), uint16(40), uint64(7))
		}
	}
	f.Add(longSSE(30, "\r\n", 1), uint16(100), uint16(0), uint64(1))
	f.Fuzz(func(t *testing.T, body []byte, split, keep uint16, seed uint64) {
		at := int(split) % (len(body) + 1)
		newFramer := func() Framer { return kind.new(0) }
		full := withoutIDs(run(newFramer(), [][]byte{body}).Events)
		chunks := splitRandom(rand.New(rand.NewPCG(seed, 0)), body[at:], 8)
		r := runTail(newFramer, ndjson, body, at, int(keep), 0, chunks, seed%2 == 1)
		got := withoutIDs(r.events)
		k := 0
		for k < len(got) && k < len(full) && got[k] == full[k] {
			k++
		}
		if rest := got[k:]; len(rest) > len(full)-k || !slices.Equal(rest, full[len(full)-len(rest):]) {
			t.Fatalf("events are not a head and a suffix:\n got %v\nfull %v", got, full)
		}
		if !bytes.HasSuffix(body, r.kept) {
			t.Fatalf("kept %q is not a suffix of the body", r.kept)
		}
		if start := len(body) - len(r.kept); start > max(len(body)-int(keep), r.leadEnd) {
			t.Fatalf("kept from %d, want at most max(%d-%d, %d)", start, len(body), keep, r.leadEnd)
		}
	})
}

// withoutIDs clears the last-event-id of each event.
func withoutIDs(evs []ev) []ev {
	out := slices.Clone(evs)
	for i := range out {
		out[i].ID = ""
	}
	return out
}
