package sseparse

import (
	"strings"
	"testing"
)

// TestMemoryBounded pushes many megabytes of hostile input (oversize events
// of every kind, lines with no end in sight) through a small maximum, in
// chunks both smaller and larger than it, and checks after every call that
// the framer's buffers stay within their bound and that the well-formed
// messages in between still come out.
func TestMemoryBounded(t *testing.T) {
	const max = 1024
	big := strings.Repeat("x", 5*max)
	rawLines := strings.Repeat("  \"k\": \""+strings.Repeat("v", 100)+"\",\n", 30)
	cases := []struct {
		kind framerKind
		unit string // repeated until the stream is long
		good int    // well-formed messages per unit
	}{
		{sseKind, "data: " + big + "\n\n" +
			"data: ok\n\n" +
			"event: " + big + "\ndata: a\n\n" +
			"id: " + big + "\ndata: b\n\n" +
			"data: " + big[:600] + "\ndata: " + big[:600] + "\n\n" +
			"{\n" + rawLines + "}\n\n" +
			": " + big + "\n" +
			big + "\n" +
			"{\"error\": {\"code\": 500}}\n" +
			"data: ok\r\n\r\n", 3},
		{arrayKind, "{\"a\": \"" + big + "\"},\r\n{\"ok\": [1]},\r\n[\"" + big + "\", {\"}\": \"]\"}],\r\n", 1},
		{ndjsonKind, "{\"a\":\"" + big + "\"}\r\n{\"ok\":1}\n\n" + big + "\n", 1},
		{eventStreamKind, string(cat(
			esFrame(big, ":event-type", "chunk"),
			esFrame(`{"ok":1}`, ":event-type", "chunk"),
			[]byte(big[:100]),
			esFrame("", ":message-type", "error", ":error-message", strings.Repeat(`"`, 900)),
			flip(esFrame(`{"ok":2}`, ":event-type", "chunk"), 20),
			esFrame(`{"ok":3}`, ":event-type", "chunk"),
		)), 2},
	}
	for _, c := range cases {
		unit := c.unit
		if c.kind.ext == ".array.json" {
			unit = strings.TrimPrefix(unit, "[")
		}
		reps := (8 << 20) / len(unit)
		body := []byte(strings.Repeat(unit, reps))
		if c.kind.ext == ".array.json" {
			body = append(append([]byte("["), body...), "{}]"...)
		}
		for _, chunk := range []int{100, 3000, 64 << 10} {
			f := c.kind.new(max)
			bound := c.kind.bound(max)
			var e Event
			good := 0
			drain := func() {
				for f.Next(&e) {
					if len(e.Data) > max {
						t.Fatalf("%s: event of %d bytes", c.kind.ext, len(e.Data))
					}
					if len(e.Data) < 32 {
						good++
					}
				}
				if got := f.bufCap(); got > bound {
					t.Fatalf("%s in %d-byte chunks: buffers hold %d bytes, bound %d", c.kind.ext, chunk, got, bound)
				}
			}
			for b := body; len(b) > 0; b = b[min(chunk, len(b)):] {
				f.Feed(b[:min(chunk, len(b))])
				drain()
			}
			f.Close()
			drain()
			want := reps * c.good
			if c.kind.ext == ".array.json" {
				want++ // the closing {}
			}
			if good != want || f.Err() != ErrEventTooLarge {
				t.Errorf("%s in %d-byte chunks: %d good messages, want %d; stats %+v", c.kind.ext, chunk, good, want, f.Stats())
			}
		}
	}
}
