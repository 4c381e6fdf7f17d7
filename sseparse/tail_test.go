package sseparse

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestNextBoundary(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		ndjson bool
		want   int
	}{
		{"sse LF", "data: a\n\ndata: b\n\n", false, 9},
		{"sse CRLF", "data: a\r\n\r\ndata: b", false, 11},
		{"sse LF then CRLF", "data: a\n\r\n", false, 10},
		{"sse one line end is not a boundary", "data: a\ndata: b\n", false, -1},
		{"sse lone CR is never certain", "data: a\r\rdata: b\r\r", false, -1},
		{"sse boundary split before b is not seen", "\ndata: b\n\n", false, 10},
		{"sse empty", "", false, -1},
		{"ndjson LF", `{"a":1}` + "\n" + `{"b":2}`, true, 8},
		{"ndjson CRLF", "{}\r\n{}", true, 4},
		{"ndjson none", `{"a":1}`, true, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NextBoundary([]byte(c.in), c.ndjson); got != c.want {
				t.Errorf("NextBoundary(%q) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}

// tailRun frames body the way a proxy does with a Tail: the head (up to
// split) through the framer, then the rest through a seeking Tail whose
// leads go to the framer, and the kept suffix to the framer at the end.
// With endReads, a chunk longer than EndSize is first offered by its end
// alone, through AppendEnd, as the plugin reads a long chunk.
type tailRun struct {
	events  []ev
	kept    []byte
	leadEnd int // offset of the end of the last lead: where keeping began
	tail    *Tail
}

func runTail(newFramer func() Framer, ndjson bool, body []byte, split, keep, maxEvent int, chunks [][]byte, endReads bool) tailRun {
	f := newFramer()
	var r tailRun
	collect := func(b []byte) {
		f.Feed(b)
		var e Event
		for f.Next(&e) {
			r.events = append(r.events, copyEvent(&e))
		}
	}
	collect(body[:split])
	r.leadEnd = split
	r.tail = NewTail(ndjson, keep, maxEvent, true)
	seeking := true
	for _, c := range chunks {
		if n := r.tail.EndSize(); endReads && len(c) > n && r.tail.AppendEnd(c[len(c)-n:]) {
			continue
		}
		lead := r.tail.Append(c)
		if seeking {
			r.leadEnd += len(lead)
			seeking = len(lead) == len(c)
		}
		if len(lead) > 0 {
			collect(lead)
		}
	}
	r.kept = bytes.Clone(r.tail.Bytes())
	collect(r.tail.Bytes())
	f.Close()
	var e Event
	for f.Next(&e) {
		r.events = append(r.events, copyEvent(&e))
	}
	return r
}

// splitRandom cuts b into pieces at up to n random points.
func splitRandom(rng *rand.Rand, b []byte, n int) [][]byte {
	pts := make([]int, rng.IntN(n+1))
	for i := range pts {
		pts[i] = rng.IntN(len(b) + 1)
	}
	sort.Ints(pts)
	return splitAt(b, pts...)
}

// checkTail asserts what a Tail promises about one run against the events
// of the whole body framed in one go.
func checkTail(t *testing.T, body []byte, full []ev, r tailRun, keep int) {
	t.Helper()
	// The events are the head's, then a suffix of the stream's.
	k := 0
	for k < len(r.events) && k < len(full) && r.events[k] == full[k] {
		k++
	}
	rest := r.events[k:]
	if len(rest) > len(full)-k || !reflect.DeepEqual(rest, full[len(full)-len(rest):]) {
		t.Fatalf("events are not a head and a suffix of the stream's:\n got %v\nfull %v", r.events, full)
	}
	if !bytes.HasSuffix(body, r.kept) {
		t.Fatalf("kept %q is not a suffix of the body", r.kept)
	}
	start := len(body) - len(r.kept)
	if start > max(len(body)-keep, r.leadEnd) {
		t.Fatalf("kept from %d, want at most max(%d-%d, %d)", start, len(body), keep, r.leadEnd)
	}
	// The last keptMessages messages of the stream are never lost.
	if n := min(keptMessages, len(full)); len(r.events) < n || !reflect.DeepEqual(r.events[len(r.events)-n:], full[len(full)-n:]) {
		t.Fatalf("last events lost: got %v, want it to end with %v", r.events, full[len(full)-n:])
	}
}

// TestTailKeepsAHeadAndASuffix runs every SSE and NDJSON fixture and some
// long synthetic streams through a Tail at every head split, with random
// chunkings and several keep sizes.
func TestTailKeepsAHeadAndASuffix(t *testing.T) {
	type stream struct {
		name   string
		body   []byte
		ndjson bool
	}
	var streams []stream
	for _, fx := range loadFixtures(t) {
		switch {
		case strings.HasSuffix(fx.name, ".sse"):
			streams = append(streams, stream{fx.name, fx.body, false})
		case strings.HasSuffix(fx.name, ".ndjson"):
			streams = append(streams, stream{fx.name, fx.body, true})
		}
	}
	streams = append(streams,
		stream{"long sse, LF", longSSE(300, "\n", 0), false},
		stream{"long sse, CRLF, comments and blank lines", longSSE(300, "\r\n", 1), false},
		stream{"long sse ending in a message larger than keep", append(longSSE(100, "\n", 0), bigEvent(5000, "\n")...), false},
		stream{"long ndjson", longNDJSON(300), true},
		stream{"long sse of messages larger than EndSize at first", longSSEOfSize(20, 1500), false},
	)
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			newFramer := func() Framer { return NewSSE(0) }
			if s.ndjson {
				newFramer = func() Framer { return NewNDJSON(0) }
			}
			full := run(newFramer(), [][]byte{s.body}).Events
			rng := rand.New(rand.NewPCG(2, uint64(len(s.body))))
			step := max(1, len(s.body)/97)
			skipped := false
			for _, keep := range []int{0, 100, 1024} {
				for split := 0; split <= len(s.body); split += step {
					for i, chunks := range [][][]byte{{s.body[split:]}, splitRandom(rng, s.body[split:], 12), bytewise(s.body[split:])} {
						// Byte by byte no chunk is long enough for an end read.
						for _, endReads := range []bool{false, true}[:2-i/2] {
							r := runTail(newFramer, s.ndjson, s.body, split, keep, 0, chunks, endReads)
							checkTail(t, s.body, full, r, keep)
							skipped = skipped || len(r.events) < len(full)
						}
					}
				}
			}
			if strings.HasPrefix(s.name, "long") && !skipped {
				t.Error("no run skipped a message: the Tail kept everything")
			}
		})
	}
}

// TestTailMemoryIsBounded streams 8 MiB of small events through a Tail and
// checks its buffer never outgrows the bound the keep size sets.
func TestTailMemoryIsBounded(t *testing.T) {
	const keep = 4096
	body := longSSE(40000, "\n", 1)
	tl := NewTail(false, keep, 0, false)
	peak := 0
	for _, c := range splitRandom(rand.New(rand.NewPCG(3, 3)), body, 5000) {
		tl.Append(c)
		peak = max(peak, cap(tl.buf))
	}
	// Between compactions the buffer holds at most twice what it kept,
	// which is keep plus one message, plus the chunk that crossed the line.
	if limit := 8 * keep; peak > limit {
		t.Errorf("peak buffer %d bytes over %d bytes of stream, want <= %d", peak, len(body), limit)
	}
	if len(tl.Bytes()) < keep {
		t.Errorf("kept %d bytes, want >= %d", len(tl.Bytes()), keep)
	}
}

// TestTailDropsOversizeMessages checks that a message in progress larger
// than the maximum event size is dropped and counted, and that keeping
// resumes at the next boundary.
func TestTailDropsOversizeMessages(t *testing.T) {
	body := append(append([]byte("data: {\"a\":1}\n\n"), bigEvent(20000, "\n")...), "data: {\"z\":1}\n\n"...)
	tl := NewTail(false, 16, 1000, false)
	for _, c := range splitAt(body, 100, 5000, 12000, 20010) {
		tl.Append(c)
	}
	if tl.Oversize() != 1 {
		t.Errorf("Oversize() = %d, want 1", tl.Oversize())
	}
	// keep (16 bytes) reaches back over the dropped message to the one
	// before it.
	if got := string(tl.Bytes()); got != "data: {\"a\":1}\n\ndata: {\"z\":1}\n\n" {
		t.Errorf("kept %q, want the messages around the oversize one", got)
	}
	if cap(tl.buf) > 8192 {
		t.Errorf("buffer grew to %d bytes for a 1000-byte maximum", cap(tl.buf))
	}
}

// longSSE is n OpenAI-like chunks; with extras every tenth event is
// preceded by a comment and followed by an extra blank line.
func longSSE(n int, eol string, extras int) []byte {
	var b bytes.Buffer
	for i := range n {
		if extras > 0 && i%10 == 0 {
			b.WriteString(": keep-alive" + eol + eol)
		}
		fmt.Fprintf(&b, `data: {"id":"c","choices":[{"index":0,"delta":{"content":"w%d %s"}}]}`+eol+eol, i, strings.Repeat("x", i%40))
		if extras > 0 && i%10 == 5 {
			b.WriteString(eol)
		}
	}
	fmt.Fprintf(&b, `data: {"id":"c","choices":[],"usage":{"total_tokens":%d}}`+eol+eol+"data: [DONE]"+eol+eol, n)
	return b.Bytes()
}

// longSSEOfSize is n chunks of about size bytes each and a usage chunk.
func longSSEOfSize(n, size int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `data: {"choices":[{"delta":{"content":"%d %s"}}]}`+"\n\n", i, strings.Repeat("z", size))
	}
	fmt.Fprintf(&b, `data: {"choices":[],"usage":{"total_tokens":%d}}`+"\n\n", n)
	return b.Bytes()
}

// bigEvent is one named SSE event whose data is about size bytes.
func bigEvent(size int, eol string) []byte {
	return []byte(`event: response.completed` + eol + `data: {"text":"` + strings.Repeat("y", size) + `","usage":{"total_tokens":7}}` + eol + eol)
}

func longNDJSON(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"model":"m","message":{"content":"w%d"},"done":false}`+"\n", i)
	}
	b.WriteString(`{"model":"m","done":true,"eval_count":300}` + "\n")
	return b.Bytes()
}

// TestTailResetForgetsTheLastStream reuses one Tail for streams of both
// framings and keep sizes: each keeps what a new Tail keeps.
func TestTailResetForgetsTheLastStream(t *testing.T) {
	reused := NewTail(false, 0, 0, false)
	for _, c := range []struct {
		ndjson bool
		keep   int
		body   []byte
	}{{false, 100, longSSE(200, "\n", 1)}, {true, 2000, longNDJSON(300)}, {false, 0, longSSE(50, "\r\n", 0)}} {
		fresh := NewTail(c.ndjson, c.keep, 0, true)
		reused.Reset(c.ndjson, c.keep, 0, true)
		for _, chunk := range splitAt(c.body, 77, len(c.body)/2, len(c.body)/2+1, len(c.body)-10) {
			if a, b := fresh.Append(chunk), reused.Append(chunk); !bytes.Equal(a, b) {
				t.Fatalf("leads differ: %q vs %q", a, b)
			}
		}
		if !bytes.Equal(fresh.Bytes(), reused.Bytes()) {
			t.Fatalf("ndjson %v keep %d: reused Tail kept %d bytes, a new one %d", c.ndjson, c.keep, len(reused.Bytes()), len(fresh.Bytes()))
		}
	}
	// A buffer grown by a large last message is not kept for the next
	// stream.
	reused.Reset(false, 0, 0, false)
	reused.Append(append(longSSE(3, "\n", 0), bigEvent(200000, "\n")...))
	if len(reused.Bytes()) < 200000 {
		t.Fatalf("kept %d bytes, want the large last message", len(reused.Bytes()))
	}
	reused.Reset(false, 0, 0, false)
	if cap(reused.buf) != 0 {
		t.Errorf("Reset kept a %d-byte buffer for a Tail that keeps 0 bytes", cap(reused.buf))
	}
}

// TestTailEndSizeAdapts feeds long streams in fixed chunks as the plugin
// does, each offered first by its last EndSize bytes: for small messages
// EndSize stays at keep plus endSlack; for larger ones it doubles after a
// failed end read until the ends show all the Tail keeps (or it passes the
// chunk size, when chunks are read whole), never past what a Tail can
// keep; either way the last messages survive.
func TestTailEndSizeAdapts(t *testing.T) {
	const keep, first = 2048, 2048 + endSlack
	for _, c := range []struct {
		name         string
		body         []byte
		chunk, max   int
		wantSize     int
		wantFailures int
	}{
		{"small messages", longSSE(3000, "\n", 1), 16 << 10, 64 << 10, first, 0},
		// 6 KiB shows three 1.5 KB messages and keep.
		{"1.5 KB messages", longSSEOfSize(300, 1500), 16 << 10, 64 << 10, 2 * first, 1},
		// 24 KiB is more than a 16 KiB chunk; the last doubling comes from
		// a whole chunk that Append offers AppendEnd, too short as well.
		{"6 KB messages", longSSEOfSize(100, 6000), 16 << 10, 64 << 10, 8 * first, 2},
		// 192 KiB shows three 40 KB messages and keep.
		{"40 KB messages in 256 KiB chunks", longSSEOfSize(100, 40000), 256 << 10, 64 << 10, 64 * first, 6},
		// 24 KiB would pass keep and four messages of 4 KiB.
		{"messages near the maximum event size", longSSEOfSize(200, 3950), 64 << 10, 4 << 10, keep + (keptMessages+1)*4<<10, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := NewTail(false, keep, c.max, false)
			failures := 0
			for _, chunk := range splitAt(c.body, fixedCuts(len(c.body), c.chunk)...) {
				if n := tl.EndSize(); len(chunk) > n {
					if tl.AppendEnd(chunk[len(chunk)-n:]) {
						continue
					}
					failures++
				}
				tl.Append(chunk)
			}
			if tl.EndSize() != c.wantSize || failures != c.wantFailures {
				t.Errorf("EndSize %d after %d failed end reads, want %d after %d", tl.EndSize(), failures, c.wantSize, c.wantFailures)
			}
			full := run(NewSSE(0), [][]byte{c.body}).Events
			kept := run(NewSSE(0), [][]byte{tl.Bytes()}).Events
			if len(kept) < keptMessages || !reflect.DeepEqual(kept[len(kept)-keptMessages:], full[len(full)-keptMessages:]) {
				t.Errorf("kept %d events, want the last %d of the stream", len(kept), keptMessages)
			}
		})
	}
}

// fixedCuts are the offsets that cut n bytes into size-byte chunks.
func fixedCuts(n, size int) []int {
	var cuts []int
	for at := size; at < n; at += size {
		cuts = append(cuts, at)
	}
	return cuts
}
