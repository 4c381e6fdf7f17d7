package parsers

import (
	"reflect"
	"testing"
)

// bodyKindCase is one non-stream body and what Body must make of it.
type bodyKindCase struct {
	name, body string
	want       Kind
	completed  bool
}

// checkBodyKinds runs each case through a fresh parser for api and checks
// the Kind and the completion flag, the two things the proxy acts on for a
// whole body. The OpenAI parsers share it because they judge bodies by the
// same rules.
func checkBodyKinds(t *testing.T, api API, cases []bodyKindCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(api)
			if got := p.Body([]byte(c.body)); got != c.want {
				t.Errorf("kind %d, want %d", got, c.want)
			}
			if got := p.Result().Completed; got != c.completed {
				t.Errorf("completed %v, want %v", got, c.completed)
			}
		})
	}
}

// benchmarkMessages replays one stream of named messages through p per
// iteration, resetting it in between, and reports throughput over the
// message data. Every stream benchmark measures through it so that their
// MB/s and allocs/op compare like for like; the caller checks the Result
// left by the last iteration.
func benchmarkMessages(b *testing.B, p Parser, names, data [][]byte) {
	size := 0
	for _, d := range data {
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		p.Reset()
		for i := range data {
			p.Message(names[i], data[i])
		}
	}
}

// checkCounts compares the normalised counts of got with want, leaving out
// Raw and Reported: the merge tests are about which snapshot or delta wins,
// and the raw members each provider sends are tested on their own.
func checkCounts(t *testing.T, name string, got, want Usage) {
	t.Helper()
	got.Raw, got.Reported = nil, false
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}
