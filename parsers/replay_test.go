package parsers

import (
	"bytes"
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

// fixtureExts are the fixture file extensions, longest first where one
// ends another.
var fixtureExts = []string{".eventstream.txt", ".array.json", ".sse", ".ndjson", ".json"}

// framerFor picks the framing from the fixture's file name:
// .sse → SSE, .array.json → streamed JSON array, .ndjson → NDJSON,
// .eventstream.txt → AWS eventstream (see readFixture);
// a plain .json is a non-stream body (nil framer).
func framerFor(name string) sseparse.Framer {
	switch {
	case strings.HasSuffix(name, ".eventstream.txt"):
		return sseparse.NewEventStream(0)
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
			note(Dispatch(p, ev.MessageType, ev.Name, ev.Data))
		}
	}
	f.Close()
	for f.Next(&ev) {
		note(Dispatch(p, ev.MessageType, ev.Name, ev.Data))
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
		base := path
		for _, ext := range fixtureExts {
			if b, ok := strings.CutSuffix(path, ext); ok {
				base = b
				break
			}
		}
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
		body := readFixture(t, path)
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

// readFixture returns a fixture's body as it travels on the wire: an
// .eventstream.txt fixture is the readable form, encoded here.
func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".eventstream.txt") {
		if body, err = sseparse.EncodeEventStreamText(string(body)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return body
}

// framedMessage is one message of a stream fixture, copied out of the framer.
type framedMessage struct{ msgType, name, data []byte }

// fixtureMessages frames every stream fixture under testdata/<dir>, to seed
// the fuzz targets with real-shaped messages.
func fixtureMessages(tb testing.TB, dir string) []framedMessage {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []framedMessage
	for _, path := range files {
		f := framerFor(filepath.Base(path))
		if f == nil {
			continue
		}
		f.Feed(readFixture(tb, path))
		f.Close()
		var ev sseparse.Event
		for f.Next(&ev) {
			out = append(out, framedMessage{bytes.Clone(ev.MessageType), bytes.Clone(ev.Name), bytes.Clone(ev.Data)})
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no stream fixtures in testdata/%s", dir)
	}
	return out
}
