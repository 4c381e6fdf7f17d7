package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/tokenmeter/tokenmeter/bench/streams"
	"github.com/tokenmeter/tokenmeter/parsers"
	"github.com/tokenmeter/tokenmeter/sseparse"
)

// maxEventBytes is the plugin's default max_event_bytes.
const maxEventBytes = 1 << 20

// streamRun is one stream delivered in one chunking, measured in one
// engine: the row shape shared by the native and V8 results.
type streamRun struct {
	Stream        string    `json:"stream"`
	Chunking      string    `json:"chunking"`
	Callbacks     int       `json:"callbacks"`
	Events        int       `json:"events"`
	Bytes         int       `json:"bytes"`
	USPerCallback float64   `json:"us_per_callback"`
	USPerEvent    float64   `json:"us_per_event"`
	MBPerS        float64   `json:"mb_per_s"`
	Rounds        []float64 `json:"rounds_us_per_event"`
	// USOtherPerCall is, for V8, the time of a call's callbacks other than
	// the body's (bench.mjs's us_other_callbacks_per_stream).
	USOtherPerCall float64 `json:"us_other_callbacks_per_stream,omitempty"`
}

// meter is the plugin's code path for one stream, natively: a new framer
// and parser per stream (as OnHttpResponseHeaders makes them), and per
// chunk a fresh copy of the bytes (as GetHttpResponseBody hands the
// plugin a new slice). With skim, as the plugin's default: the head
// message by message until the first meaningful one, then an
// sseparse.Tail that gets only the end of a long chunk (its EndSize) if
// that end shows all it keeps, and whose kept end is framed at the end.
// Without skim, every event goes to the parser (parse_every_event).
type meter struct {
	f    *sseparse.SSE
	p    parsers.Parser
	ev   sseparse.Event
	skim bool
	head bool // the head lasts: no meaningful message yet
	tail *sseparse.Tail
}

// tailBytes is the plugin's default tail_bytes.
const tailBytes = 2 << 10

func newMeter(api parsers.API, skim bool) *meter {
	return &meter{f: sseparse.NewSSE(maxEventBytes), p: parsers.New(api), skim: skim, head: true}
}

// body delivers a stream's chunks, the last one ending it.
func (m *meter) body(chunks [][]byte) {
	for _, c := range chunks {
		if m.tail != nil {
			if end := m.tail.EndSize(); len(c) > end && m.tail.AppendEnd(append([]byte(nil), c[len(c)-end:]...)) {
				continue
			}
		}
		c = append([]byte(nil), c...)
		for m.skim && m.head && len(c) > 0 {
			n := sseparse.NextBoundary(c, false)
			seeking := n < 0
			if seeking {
				n = len(c)
			}
			m.f.Feed(c[:n])
			m.drain()
			c = c[n:]
			if !m.head {
				m.tail = sseparse.NewTail(false, tailBytes, maxEventBytes, seeking)
			}
		}
		if m.tail != nil {
			c = m.tail.Append(c)
		}
		m.f.Feed(c)
		m.drain()
	}
	if m.tail != nil {
		m.f.Feed(m.tail.Bytes())
		m.drain()
	}
	m.f.Close()
	m.drain()
}

func (m *meter) drain() {
	for m.f.Next(&m.ev) {
		if k := m.p.Message(m.ev.Name, m.ev.Data); k == parsers.KindMeaningful || k == parsers.KindError {
			m.head = false
		}
	}
}

// expect is what the parsers report for a stream: the V8 run must agree.
func expect(s *streams.Stream) (*parsers.Result, error) {
	api, ok := parsers.ParseAPI(s.API)
	if !ok {
		return nil, fmt.Errorf("%s: unknown API %q", s.Name, s.API)
	}
	m := newMeter(api, false)
	m.body(s.EventChunks())
	r := m.p.Result()
	if !r.Completed || r.Usage.TotalTokens == 0 {
		return nil, fmt.Errorf("%s: parsers see an incomplete stream: %+v", s.Name, r)
	}
	return r, nil
}

// measureNative times meter.body on one chunking of a stream the way the
// V8 runner times the body callbacks: rounds of whole streams within
// budget, the median round per event; setting up a stream is not timed.
func measureNative(s *streams.Stream, chunking string, chunks [][]byte, budget time.Duration, rounds int) streamRun {
	api, _ := parsers.ParseAPI(s.API)
	one := func() time.Duration {
		m := newMeter(api, true)
		start := time.Now()
		m.body(chunks)
		return time.Since(start)
	}
	for range 20 { // warm-up, as in V8
		one()
	}
	perRound := budget / time.Duration(rounds)
	var perStream []float64
	for range rounds {
		var spent time.Duration
		n, start := 0, time.Now()
		for n < 3 || time.Since(start) < perRound {
			spent += one()
			n++
		}
		perStream = append(perStream, float64(spent.Nanoseconds())/float64(n))
	}
	ns := median(perStream)
	run := streamRun{
		Stream: s.Name, Chunking: chunking, Callbacks: len(chunks), Events: s.Events(), Bytes: len(s.Body),
		USPerCallback: ns / float64(len(chunks)) / 1e3,
		USPerEvent:    ns / float64(s.Events()) / 1e3,
		MBPerS:        float64(len(s.Body)) / ns * 1e3,
	}
	for _, x := range perStream {
		run.Rounds = append(run.Rounds, x/float64(s.Events())/1e3)
	}
	return run
}

// median returns the middle value (the upper one of an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
