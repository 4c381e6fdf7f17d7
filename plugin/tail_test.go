package main

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/tokenmeter/tokenmeter/bench/streams"
)

// tailConfigs are the default configuration, which parses a stream's head
// and tail only, and the one that parses every event.
var tailConfigs = []string{`{}`, `{"parse_every_event": true}`}

// meterUnder runs ex under each configuration, each in its own subtest,
// checks the client got want, and returns the published records without
// their timings.
func meterUnder(t *testing.T, vm types.VMContext, ex exchange, want []byte) []map[string]any {
	t.Helper()
	records := make([]map[string]any, len(tailConfigs))
	for i, config := range tailConfigs {
		t.Run(config, func(t *testing.T) {
			o := run(t, startHost(t, vm, config), ex)
			if !bytes.Equal(o.forwarded, want) {
				t.Fatalf("client got %d bytes, want the stream's %d", len(o.forwarded), len(want))
			}
			delete(o.usage, "duration_ms")
			delete(o.usage, "ttfb_ms")
			records[i] = o.usage
		})
	}
	return records
}

// TestHeadAndTailMeterLikeEveryEvent runs the long generated streams of
// the benchmarks (hundreds of events each) through the plugin: the client
// gets every byte and the record is the same as when every event is parsed.
func TestHeadAndTailMeterLikeEveryEvent(t *testing.T) {
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		for _, s := range streams.All() {
			cuts := map[string][][]byte{"one event per chunk": s.EventChunks(), "16KiB chunks": s.FixedChunks(16 << 10), "whole": {s.Body}}
			for how, chunks := range cuts {
				t.Run(s.Name+"/"+how, func(t *testing.T) {
					r := meterUnder(t, vm, exchange{
						path: s.Path, authority: s.Host,
						requestBody: `{"model":"request-model","stream":true}`,
						headers:     [][2]string{{"content-type", s.ContentType}},
						chunks:      chunks,
					}, s.Body)
					if !reflect.DeepEqual(r[0], r[1]) {
						t.Fatalf("head and tail:\n%v\nevery event:\n%v", r[0], r[1])
					}
					if r[0]["outcome"] != "completed" || r[0]["usage_reported"] != true || r[0]["total_tokens"] == 0.0 {
						t.Fatalf("not metered: %v", r[0])
					}
				})
			}
		}
	})
}

// TestCutStreamMetersItsTail checks that a stream the client leaves in the
// middle is metered from its kept end as when every event is parsed:
// Gemini reports its usage so far in every chunk.
func TestCutStreamMetersItsTail(t *testing.T) {
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		for _, s := range streams.All() {
			if s.Name != "gemini" {
				continue
			}
			chunks := s.EventChunks()
			r := meterUnder(t, vm, exchange{
				path: s.Path, authority: s.Host,
				requestBody: `{"contents":[]}`,
				headers:     [][2]string{{"content-type", s.ContentType}},
				chunks:      chunks, leaveAfter: len(chunks) / 2,
			}, bytes.Join(chunks[:len(chunks)/2], nil))
			if !reflect.DeepEqual(r[0], r[1]) {
				t.Fatalf("head and tail:\n%v\nevery event:\n%v", r[0], r[1])
			}
			if r[0]["outcome"] != "client_disconnected" || r[0]["output_tokens"] == 0.0 {
				t.Fatalf("want the usage so far of a disconnected call: %v", r[0])
			}
		}
	})
}
