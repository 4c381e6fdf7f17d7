package main

import (
	"reflect"
	"testing"

	"github.com/tokenmeter/tokenmeter/bench/streams"
	"github.com/tokenmeter/tokenmeter/parsers"
)

// TestStreamsMeter checks every benchmark stream, the long one of the
// Envoy runs included, frames into the events the generator recorded and
// meters as complete with usage, in every chunking, and that skimming it
// gives the same result while framing fewer events, so no benchmark can
// quietly measure a stream that yields nothing.
func TestStreamsMeter(t *testing.T) {
	for _, s := range append(streams.All(), longStream()) {
		want, err := expect(&s)
		if err != nil {
			t.Fatal(err)
		}
		api, _ := parsers.ParseAPI(s.API)
		chunkings := [][][]byte{s.EventChunks(), s.FixedChunks(chunkSize)}
		if len(s.Body) < 1<<20 {
			chunkings = append(chunkings, s.FixedChunks(7))
		}
		for _, chunks := range chunkings {
			for _, skim := range []bool{false, true} {
				m := newMeter(api, skim)
				m.body(chunks)
				st := m.f.Stats()
				// Skimming frames the head and the kept end only.
				if skim != (st.Events < uint64(s.Events())) || !skim && st.Events != uint64(s.Events()) || st.Malformed+st.Oversize != 0 {
					t.Errorf("%s in %d chunks, skim %v: %+v, want %d events", s.Name, len(chunks), skim, st, s.Events())
				}
				if got := m.p.Result(); !reflect.DeepEqual(got, want) || !got.Completed {
					t.Errorf("%s in %d chunks, skim %v: %+v, want %+v", s.Name, len(chunks), skim, got, want)
				}
			}
		}
	}
}

// BenchmarkMeter is the native figure of tmbench as a Go benchmark, for
// profiling: go test -run='^$' -bench=Meter -cpuprofile=cpu.out ./bench/cmd/tmbench
func BenchmarkMeter(b *testing.B) {
	for _, s := range streams.All() {
		api, _ := parsers.ParseAPI(s.API)
		for _, c := range []struct {
			name   string
			chunks [][]byte
		}{{"event", s.EventChunks()}, {"16KiB", s.FixedChunks(chunkSize)}} {
			b.Run(s.Name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(s.Body)))
				b.ReportAllocs()
				for b.Loop() {
					newMeter(api, true).body(c.chunks)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*s.Events()), "ns/event")
			})
		}
	}
}
