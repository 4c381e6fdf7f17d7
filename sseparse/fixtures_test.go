package sseparse

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the framers' output")

// fixture is one recorded-shape body from testdata, with the framer its
// file name calls for.
type fixture struct {
	name string
	body []byte
	new  func(max int) Framer
}

// framerFor picks the framer from the extension: .sse, .array.json, .ndjson,
// .eventstream.txt (the readable form EncodeEventStreamText encodes).
func framerFor(name string) func(max int) Framer {
	switch {
	case strings.HasSuffix(name, ".eventstream.txt"):
		return func(max int) Framer { return NewEventStream(max) }
	case strings.HasSuffix(name, ".sse"):
		return func(max int) Framer { return NewSSE(max) }
	case strings.HasSuffix(name, ".array.json"):
		return func(max int) Framer { return NewJSONArray(max) }
	case strings.HasSuffix(name, ".ndjson"):
		return func(max int) Framer { return NewNDJSON(max) }
	}
	return nil
}

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	var fs []fixture
	for _, e := range entries {
		nf := framerFor(e.Name())
		if e.IsDir() || nf == nil {
			continue
		}
		body, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".eventstream.txt") {
			if body, err = EncodeEventStreamText(string(body)); err != nil {
				tb.Fatalf("%s: %v", e.Name(), err)
			}
		}
		fs = append(fs, fixture{e.Name(), body, nf})
	}
	if len(fs) < 3 {
		tb.Fatalf("only %d fixtures found", len(fs))
	}
	return fs
}

// golden is the stored expectation for a fixture, written for humans to
// review: one entry per event, strings for the byte slices.
type golden struct {
	Events []ev  `json:"events"`
	Stats  Stats `json:"stats"`
}

// TestFixtures replays every fixture whole, byte by byte, at every split
// point and at random multi-way splits, and compares with its golden file.
func TestFixtures(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			whole := runScribbled(fx.new(0), [][]byte{append([]byte(nil), fx.body...)})
			path := filepath.Join("testdata", "golden", fx.name+".json")
			if *update {
				g, err := json.MarshalIndent(golden{whole.Events, whole.Stats}, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(g, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var g golden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			want := outcome{Events: g.Events, Stats: g.Stats}
			// Independent of the golden file: every fixture except the one
			// about plain-text data frames JSON messages only.
			for _, e := range want.Events {
				if !json.Valid([]byte(e.Data)) && e.Data != "[DONE]" && !strings.HasPrefix(fx.name, "bom_") {
					t.Errorf("event is not JSON: %v", e)
				}
			}
			if !reflect.DeepEqual(whole, want) {
				t.Fatalf("whole body:\n got %v\nwant %v", whole, want)
			}
			check := func(how string, chunks [][]byte) {
				t.Helper()
				if got := runScribbled(fx.new(0), chunks); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s:\n got %v\nwant %v", how, got, want)
				}
			}
			check("bytewise", bytewise(fx.body))
			for i := 1; i < len(fx.body); i++ {
				check("split at "+itoa(i), splitAt(fx.body, i))
			}
			rng := rand.New(rand.NewPCG(1, uint64(len(fx.body))))
			for range 200 {
				pts := make([]int, rng.IntN(8))
				for i := range pts {
					pts[i] = rng.IntN(len(fx.body) + 1)
				}
				sort.Ints(pts)
				check("random split", splitAt(fx.body, pts...))
			}
		})
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
