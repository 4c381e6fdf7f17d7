// Command tmbench measures tokenmeter side by side in one run: the plugin's
// code path natively in Go, the compiled module in V8 (bench/v8), the
// seed-design Python processor (bench/python), and optionally the Go
// package benchmarks and Envoy under load. All of them are fed the same
// generated streams (bench/streams).
//
// make bench-quick runs `tmbench -quick`; make bench runs the full set and
// regenerates BENCHMARKS.md and its chart. The last line printed is always
//
//	ratios: v8_us_per_event=<x> v8_vs_native=<y> vs_python=<z>
//
// where x is V8's µs per event over the three streams in 16 KiB chunks,
// y is x divided by the native figure for the same chunks, and z is the
// Python processor's µs per event divided by x.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tokenmeter/tokenmeter/bench/streams"
)

// chunkSize is how Envoy hands a fast upstream's body to filters.
const chunkSize = 16 << 10

// options are the command-line flags.
type options struct {
	quick   bool
	wasm    string
	python  string
	budget  time.Duration
	rounds  int
	goBench bool
	envoy   bool
	soak    int
	report  string
	chart   string
	results string
	streams string
}

// everyEventConfig is the plugin configuration that parses every event
// instead of a stream's head and tail.
const everyEventConfig = `{"parse_every_event": true}`

// results is everything one run measured; it is written as JSON and
// rendered into BENCHMARKS.md.
type results struct {
	Machine machine     `json:"machine"`
	Native  []streamRun `json:"native"`
	V8      v8Report    `json:"v8"`
	// V8EveryEvent is the V8 run with parse_every_event (not in -quick).
	V8EveryEvent *v8Report       `json:"v8_every_event,omitempty"`
	Python       pythonReport    `json:"python"`
	GoBench      []goBenchResult `json:"go_bench,omitempty"`
	Envoy        *envoyReport    `json:"envoy,omitempty"`
	Ratios       ratios          `json:"ratios"`
	StartedAt    time.Time       `json:"started_at"`
	DurationS    float64         `json:"duration_s"`
	Quick        bool            `json:"quick"`
	BudgetMS     int64           `json:"budget_ms"`
	Rounds       int             `json:"rounds"`
	StreamInfo   []streamInfo    `json:"streams"`
}

// streamInfo describes one generated stream in the manifest and report.
type streamInfo struct {
	Name        string `json:"name"`
	API         string `json:"api"`
	Path        string `json:"path"`
	Host        string `json:"host"`
	Model       string `json:"model"`
	ContentType string `json:"content_type"`
	File        string `json:"file"`
	Bytes       int    `json:"bytes"`
	EventEnds   []int  `json:"event_ends"`
	TotalTokens uint64 `json:"total_tokens"`
}

// v8Report is what bench/v8/bench.mjs prints.
type v8Report struct {
	Node               string      `json:"node"`
	V8                 string      `json:"v8"`
	ModuleBytes        int         `json:"module_bytes"`
	CompileMS          float64     `json:"compile_ms"`
	InstantiateStartMS []float64   `json:"instantiate_start_ms"`
	InitialPages       int         `json:"initial_pages"`
	Pages              [][2]int    `json:"pages"`
	StreamsRun         int         `json:"streams_run"`
	Results            []streamRun `json:"results"`
}

// pythonReport is what bench/python/processor.py prints.
type pythonReport struct {
	Python  string      `json:"python"`
	Results []streamRun `json:"results"`
}

// ratios are the headline figures of the last line.
type ratios struct {
	V8USPerEvent     float64 `json:"v8_us_per_event"`
	NativeUSPerEvent float64 `json:"native_us_per_event"`
	PythonUSPerEvent float64 `json:"python_us_per_event"`
	V8VsNative       float64 `json:"v8_vs_native"`
	VsPython         float64 `json:"vs_python"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("tmbench: ")
	var o options
	flag.BoolVar(&o.quick, "quick", false, "short budgets, no Go package benchmarks, no Envoy (make bench-quick)")
	flag.StringVar(&o.wasm, "wasm", "dist/tokenmeter.wasm", "the compiled plugin")
	flag.StringVar(&o.python, "python", "python3", "the Python interpreter for the seed-design processor")
	flag.DurationVar(&o.budget, "budget", 2*time.Second, "time per stream and chunking in each engine")
	flag.IntVar(&o.rounds, "rounds", 7, "rounds per measurement; the median is reported")
	flag.BoolVar(&o.goBench, "gobench", false, "also run the sseparse and parsers package benchmarks")
	flag.BoolVar(&o.envoy, "envoy", false, "also measure Envoy under load (needs make envoy)")
	flag.IntVar(&o.soak, "soak", 10000, "streams in the Envoy soak")
	flag.StringVar(&o.report, "report", "", "write BENCHMARKS.md here")
	flag.StringVar(&o.chart, "chart", "", "write the chart PNG here (needs matplotlib in -python)")
	flag.StringVar(&o.results, "results", "", "write the raw results JSON here")
	flag.StringVar(&o.streams, "streams", "", "write the streams and their manifest here and keep them (default: a temporary directory)")
	flag.Parse()
	if o.quick {
		o.budget, o.rounds = 600*time.Millisecond, 5
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	res := &results{StartedAt: time.Now().UTC(), Quick: o.quick, BudgetMS: o.budget.Milliseconds(), Rounds: o.rounds}
	res.Machine = describeMachine(o.python)
	var err error
	dir := o.streams
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tmbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	all := streams.All()
	manifest, err := writeManifest(dir, all)
	if err != nil {
		return err
	}
	res.StreamInfo = manifest

	log.Printf("native Go: %d streams, %v per measurement", len(all), o.budget)
	for i := range all {
		s := &all[i]
		res.Native = append(res.Native,
			measureNative(s, "event", s.EventChunks(), o.budget, o.rounds),
			measureNative(s, "16KiB", s.FixedChunks(chunkSize), o.budget, o.rounds))
	}
	budgetMS := strconv.FormatInt(o.budget.Milliseconds(), 10)
	rounds := strconv.Itoa(o.rounds)
	manifestPath := filepath.Join(dir, "manifest.json")
	log.Printf("V8 (node bench/v8/bench.mjs)")
	if err := runJSON(&res.V8, "node", "--no-warnings", "bench/v8/bench.mjs", "--wasm", o.wasm, "--manifest", manifestPath,
		"--budget-ms", budgetMS, "--rounds", rounds); err != nil {
		return err
	}
	if !o.quick {
		log.Printf("V8, parse_every_event")
		res.V8EveryEvent = new(v8Report)
		if err := runJSON(res.V8EveryEvent, "node", "--no-warnings", "bench/v8/bench.mjs", "--wasm", o.wasm, "--manifest", manifestPath,
			"--budget-ms", budgetMS, "--rounds", rounds, "--config", everyEventConfig); err != nil {
			return err
		}
	}
	log.Printf("Python (%s bench/python/processor.py)", o.python)
	if err := runJSON(&res.Python, o.python, "bench/python/processor.py", "--manifest", manifestPath,
		"--budget-ms", budgetMS, "--rounds", rounds); err != nil {
		return err
	}
	if o.goBench {
		log.Printf("Go package benchmarks (go test -bench)")
		if res.GoBench, err = runGoBench(); err != nil {
			return err
		}
	}
	if o.envoy {
		log.Printf("Envoy under load")
		if res.Envoy, err = measureEnvoy(o, all); err != nil {
			return err
		}
	}
	res.Ratios = computeRatios(res)
	res.DurationS = time.Since(res.StartedAt).Seconds()
	if err := writeOutputs(o, res); err != nil {
		return err
	}
	printSummary(res)
	r := res.Ratios
	fmt.Printf("ratios: v8_us_per_event=%.3f v8_vs_native=%.2f vs_python=%.1f\n", r.V8USPerEvent, r.V8VsNative, r.VsPython)
	return nil
}

// writeManifest writes each stream's body and the manifest the V8 and
// Python runners read.
func writeManifest(dir string, all []streams.Stream) ([]streamInfo, error) {
	var infos []streamInfo
	for i := range all {
		s := &all[i]
		r, err := expect(s)
		if err != nil {
			return nil, err
		}
		info := streamInfo{
			Name: s.Name, API: s.API, Path: s.Path, Host: s.Host, Model: r.Model, ContentType: s.ContentType,
			File: s.Name + ".sse", Bytes: len(s.Body), EventEnds: s.EventEnds, TotalTokens: r.Usage.TotalTokens,
		}
		if err := os.WriteFile(filepath.Join(dir, info.File), s.Body, 0o644); err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	b, err := json.Marshal(map[string]any{"streams": infos})
	if err != nil {
		return nil, err
	}
	return infos, os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
}

// runJSON runs a command that prints one JSON object and decodes it into v.
// Its stderr goes to ours.
func runJSON(v any, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), v); err != nil {
		return fmt.Errorf("%s printed no JSON result: %w", name, err)
	}
	return nil
}

// aggregate is µs per event over all streams of one chunking: total time
// of one pass over every stream divided by their total events.
func aggregate(runs []streamRun, chunking string) float64 {
	var us float64
	events := 0
	for _, r := range runs {
		if r.Chunking == chunking {
			us += r.USPerEvent * float64(r.Events)
			events += r.Events
		}
	}
	if events == 0 {
		return 0
	}
	return us / float64(events)
}

func computeRatios(res *results) ratios {
	r := ratios{
		V8USPerEvent:     aggregate(res.V8.Results, "16KiB"),
		NativeUSPerEvent: aggregate(res.Native, "16KiB"),
		PythonUSPerEvent: aggregate(res.Python.Results, "16KiB"),
	}
	if r.NativeUSPerEvent > 0 {
		r.V8VsNative = r.V8USPerEvent / r.NativeUSPerEvent
	}
	if r.V8USPerEvent > 0 {
		r.VsPython = r.PythonUSPerEvent / r.V8USPerEvent
	}
	return r
}

// printSummary prints the per-stream figures, one line each.
func printSummary(res *results) {
	for _, set := range res.engines("native", "v8", "v8-every", "python") {
		for _, r := range set.runs {
			fmt.Printf("%-8s %-10s %-6s %5d callbacks %7.3f µs/callback %7.3f µs/event %8.1f MB/s\n",
				set.name, r.Stream, r.Chunking, r.Callbacks, r.USPerCallback, r.USPerEvent, r.MBPerS)
		}
	}
	v := res.V8
	last := v.Pages[len(v.Pages)-1]
	fmt.Printf("v8 module %d bytes, compile %.1f ms, instantiate+start %.1f ms (median of %d), %d initial pages, %d pages after %d streams\n",
		v.ModuleBytes, v.CompileMS, median(v.InstantiateStartMS), len(v.InstantiateStartMS), v.InitialPages, last[1], last[0])
}
