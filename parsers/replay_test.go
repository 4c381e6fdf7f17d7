package parsers

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenmeter/tokenmeter/sseparse"
)

// want is the hand-written expectation stored next to each fixture as
// <case>.want.json. Every field is compared; absent fields mean zero values.
type want struct {
	Model               string  `json:"model"`
	InputTokens         uint64  `json:"input_tokens"`
	OutputTokens        uint64  `json:"output_tokens"`
	CacheReadTokens     uint64  `json:"cache_read_tokens"`
	CacheCreationTokens uint64  `json:"cache_creation_tokens"`
	ReasoningTokens     uint64  `json:"reasoning_tokens"`
	TotalTokens         uint64  `json:"total_tokens"`
	UsageReported       bool    `json:"usage_reported"`
	TotalMismatch       bool    `json:"total_mismatch"`
	Cost                float64 `json:"cost"`
	Completed           bool    `json:"completed"`
	FinishReason        string  `json:"finish_reason"`
	Vendor              string  `json:"vendor"`
	ErrorType           string  `json:"error_type"`
	ErrorStatus         int     `json:"error_status"`
	ErrorMessage        string  `json:"error_message"`
	// FirstKind is the kind of the first message that is not KindIgnored:
	// "meaningful" or "error" (what a proxy's prefetch decides on).
	FirstKind string `json:"first_kind"`
}

func (w want) from(r *Result, first Kind) want {
	u := r.Usage
	return want{
		Model: r.Model, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheReadTokens: u.CacheReadTokens, CacheCreationTokens: u.CacheCreationTokens,
		ReasoningTokens: u.ReasoningTokens, TotalTokens: u.TotalTokens,
		UsageReported: u.Reported, TotalMismatch: u.TotalMismatch, Cost: u.Cost,
		Completed: r.Completed, FinishReason: r.FinishReason, Vendor: r.Vendor,
		ErrorType: r.Err.Type, ErrorStatus: r.Err.Status, ErrorMessage: r.Err.Message,
		FirstKind: kindName(first),
	}
}

func kindName(k Kind) string {
	switch k {
	case KindMeaningful:
		return "meaningful"
	case KindError:
		return "error"
	case KindMalformed:
		return "malformed"
	}
	return ""
}

// framerFor picks the framing from the fixture's file name:
// .sse → SSE, .array.json → streamed JSON array, .ndjson → NDJSON;
// a plain .json is a non-stream body (nil framer).
func framerFor(name string) sseparse.Framer {
	switch {
	case strings.HasSuffix(name, ".sse"):
		return sseparse.NewSSE(0)
	case strings.HasSuffix(name, ".array.json"):
		return sseparse.NewJSONArray(0)
	case strings.HasSuffix(name, ".ndjson"):
		return sseparse.NewNDJSON(0)
	}
	return nil
}

// chunkings returns the ways a body is cut for replay: whole, one byte at a
// time, and three seeded random cuttings.
func chunkings(body []byte) map[string][][]byte {
	out := map[string][][]byte{"whole": {body}}
	var bytes1 [][]byte
	for i := range body {
		bytes1 = append(bytes1, body[i:i+1])
	}
	out["one-byte"] = bytes1
	for seed := int64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewSource(seed))
		var parts [][]byte
		for rest := body; len(rest) > 0; {
			n := 1 + rng.Intn(64)
			if n > len(rest) {
				n = len(rest)
			}
			parts = append(parts, rest[:n])
			rest = rest[n:]
		}
		out["random-"+string(rune('0'+seed))] = parts
	}
	return out
}

// replay runs one body through a framer and parser, chunk by chunk, the way
// the plugin does, and returns the result and the first non-ignored kind.
func replay(api API, f sseparse.Framer, chunks [][]byte) (*Result, Kind) {
	p := New(api)
	first := KindIgnored
	note := func(k Kind) {
		if first == KindIgnored && k != KindIgnored {
			first = k
		}
	}
	var ev sseparse.Event
	for _, c := range chunks {
		f.Feed(c)
		for f.Next(&ev) {
			note(p.Message(ev.Name, ev.Data))
		}
	}
	f.Close()
	for f.Next(&ev) {
		note(p.Message(ev.Name, ev.Data))
	}
	return p.Result(), first
}

// runFixtures checks every fixture under testdata/<dir> against its
// .want.json, under every chunking for streams.
func runFixtures(t *testing.T, api API, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".want.json") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(path, ".sse"), ".ndjson"), ".json"), ".array")
		wantBytes, err := os.ReadFile(base + ".want.json")
		if err != nil {
			t.Errorf("%s: no expectation file: %v", path, err)
			continue
		}
		var w want
		dec := json.NewDecoder(strings.NewReader(string(wantBytes)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			t.Errorf("%s.want.json: %v", base, err)
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		name := filepath.Base(path)
		if framerFor(name) == nil {
			t.Run(name, func(t *testing.T) {
				p := New(api)
				k := p.Body(body)
				first := KindIgnored
				if k != KindIgnored {
					first = k
				}
				if got := (want{}).from(p.Result(), first); got != w {
					t.Errorf("non-stream body:\n got %+v\nwant %+v", got, w)
				}
			})
			continue
		}
		for cname, chunks := range chunkings(body) {
			t.Run(name+"/"+cname, func(t *testing.T) {
				r, first := replay(api, framerFor(name), chunks)
				if got := (want{}).from(r, first); got != w {
					t.Errorf("\n got %+v\nwant %+v", got, w)
				}
			})
		}
	}
	if n == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
}
