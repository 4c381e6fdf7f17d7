package sseparse

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// ev is an Event copied out of framer memory, comparable with ==.
type ev struct {
	Name, Data, ID string
	Retry          int64
	Raw            bool
	MessageType    string `json:",omitempty"`
}

// copyEvent copies e before the next framer call invalidates it.
func copyEvent(e *Event) ev {
	return ev{string(e.Name), string(e.Data), string(e.ID), e.Retry, e.Raw, string(e.MessageType)}
}

// data is the common expectation: an event with data only.
func data(s string) ev { return ev{Data: s, Retry: -1} }

// dataCase is one body for a framer of bare JSON payloads (JSON array,
// NDJSON) and the payloads and stats it must yield.
type dataCase struct {
	name  string
	body  string
	max   int
	want  []string
	stats Stats
}

// checkDataCases runs each case through checkChunkings with a fresh framer
// of the case's maximum size. The JSON-array and NDJSON tests share it
// because both framers report the same kind of outcome.
func checkDataCases(t *testing.T, newFramer func(max int) Framer, cases []dataCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkChunkings(t, func() Framer { return newFramer(c.max) }, c.body, dataOutcome(c.want, c.stats))
		})
	}
}

// dataOutcome is what a JSON-array or NDJSON framer reports for a body whose
// elements are want: one data-only event each, counted in Stats, and
// ErrEventTooLarge once anything was dropped as oversize. Those framers carry
// no names, IDs or retries, so a case need only list the payloads.
func dataOutcome(want []string, stats Stats) outcome {
	o := outcome{Stats: stats}
	for _, d := range want {
		o.Events = append(o.Events, data(d))
	}
	o.Stats.Events = uint64(len(want))
	if stats.Oversize > 0 {
		o.Err = ErrEventTooLarge
	}
	return o
}

func (e ev) String() string {
	return fmt.Sprintf("{Name:%q Data:%q ID:%q Retry:%d Raw:%v MessageType:%q}", e.Name, e.Data, e.ID, e.Retry, e.Raw, e.MessageType)
}

// outcome is everything a framer reports for one body.
type outcome struct {
	Events []ev
	Stats  Stats
	Err    error
}

// run feeds chunks to f the way the proxy does (Feed, drain, ..., Close,
// drain) and copies every event before the next call invalidates it.
func run(f Framer, chunks [][]byte) outcome { return feedAll(f, chunks, false) }

// splitAt cuts body at the given ascending offsets. Each chunk is a fresh
// copy, and the previous one is scribbled over after use, so a framer that
// keeps a chunk longer than allowed gets caught.
func splitAt(body []byte, points ...int) [][]byte {
	var chunks [][]byte
	prev := 0
	for _, p := range append(points, len(body)) {
		chunks = append(chunks, append([]byte(nil), body[prev:p]...))
		prev = p
	}
	return chunks
}

// runScribbled is run, but each chunk is overwritten with junk as soon as the
// framer is done with it (Next returned false), as a proxy reusing its
// buffer would.
func runScribbled(f Framer, chunks [][]byte) outcome { return feedAll(f, chunks, true) }

// feedAll is the one body behind run and runScribbled, so the two replay a
// stream in exactly the same order and differ only in the scribbling.
func feedAll(f Framer, chunks [][]byte, scribble bool) outcome {
	var o outcome
	var e Event
	drain := func() {
		for f.Next(&e) {
			o.Events = append(o.Events, copyEvent(&e))
		}
	}
	for _, c := range chunks {
		f.Feed(c)
		drain()
		if scribble {
			for i := range c {
				c[i] = '#'
			}
		}
	}
	f.Close()
	drain()
	o.Stats, o.Err = f.Stats(), f.Err()
	return o
}

// bytewise cuts body into one-byte chunks.
func bytewise(body []byte) [][]byte {
	pts := make([]int, 0, len(body))
	for i := 1; i < len(body); i++ {
		pts = append(pts, i)
	}
	return splitAt(body, pts...)
}

// checkChunkings runs body whole, byte by byte and (for small bodies) split
// at every single point and every pair of points, and checks each result
// equals want.
func checkChunkings(t *testing.T, newFramer func() Framer, body string, want outcome) {
	t.Helper()
	b := []byte(body)
	check := func(how string, chunks [][]byte) {
		t.Helper()
		got := runScribbled(newFramer(), chunks)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", how, got, want)
		}
	}
	check("whole", [][]byte{append([]byte(nil), b...)})
	check("bytewise", bytewise(b))
	if len(b) > 400 {
		return
	}
	for i := 0; i <= len(b); i++ {
		check(fmt.Sprintf("split at %d", i), splitAt(b, i))
	}
	if len(b) > 80 {
		return
	}
	for i := 0; i <= len(b); i++ {
		for j := i; j <= len(b); j++ {
			check(fmt.Sprintf("split at %d,%d", i, j), splitAt(b, i, j))
		}
	}
}

func (o outcome) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d events %+v err=%v", len(o.Events), o.Stats, o.Err)
	for _, e := range o.Events {
		sb.WriteString("\n    ")
		sb.WriteString(e.String())
	}
	return sb.String()
}

// TestWordIndexByte compares wordIndexByte and wordLastIndexByte with
// bytes.IndexByte and bytes.LastIndexByte for the byte at every position of
// lines up to 80 bytes (every alignment of each of their loops), with a
// second one beside it, bytes just above and below it and a 0x80 byte
// nearby, the values that fool a careless zero-byte test.
func TestWordIndexByte(t *testing.T) {
	for _, c := range []byte{'\n', '\r', '"', '\\', 0, 0xff} {
		for n := range 80 {
			for at := -1; at < n; at++ {
				for _, second := range []int{at - 1, at + 1} {
					p := make([]byte, n)
					for i := range p {
						p[i] = []byte{c + 1, c - 1, 0x80, 'a'}[i%4]
					}
					if at >= 0 {
						p[at] = c
						if second >= 0 && second < n {
							p[second] = c
						}
					}
					if got, want := wordIndexByte(p, c), bytes.IndexByte(p, c); got != want {
						t.Fatalf("wordIndexByte(%q, %q) = %d, want %d", p, c, got, want)
					}
					if got, want := wordLastIndexByte(p, c), bytes.LastIndexByte(p, c); got != want {
						t.Fatalf("wordLastIndexByte(%q, %q) = %d, want %d", p, c, got, want)
					}
				}
			}
		}
	}
}
