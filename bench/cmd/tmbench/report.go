package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// The goals of issue #5, checked against each run.
const (
	goalV8ChunkUS     = 1.0  // µs per event in 16 KiB chunks, every stream
	goalV8EventUS     = 2.5  // µs per single-event callback, every stream
	goalV8VsNative    = 4.0  // V8 ÷ native, 16 KiB chunks, all streams
	goalVsPython      = 3.0  // tokenmeter in V8 vs the Python processor
	goalVsPlain       = 0.90 // Envoy + tokenmeter throughput ÷ plain Envoy
	goalVsSSE         = 0.80 // Envoy + tokenmeter throughput ÷ sse_to_metadata
	goalInitialPages  = 64
	goalSteadyMiB     = 16
	goalModuleMiB     = 6
	goalStartMS       = 50
	mib               = 1 << 20
	chartScript       = "bench/chart.py"
	resultsForChart   = "tmbench-results.json"
	benchmarksCommand = "make bench"
)

func writeOutputs(o options, res *results) error {
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if o.results != "" {
		if err := os.WriteFile(o.results, b, 0o644); err != nil {
			return err
		}
	}
	if o.chart != "" {
		tmp, err := os.CreateTemp("", resultsForChart)
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(b); err != nil {
			return err
		}
		tmp.Close()
		cmd := exec.Command(o.python, chartScript, tmp.Name(), o.chart)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", chartScript, err)
		}
	}
	if o.report != "" {
		return os.WriteFile(o.report, []byte(renderReport(o, res)), 0o644)
	}
	return nil
}

// goal is one line of the goals table.
type goal struct {
	name, target, measured string
	met                    bool
}

func goals(res *results) []goal {
	v := res.V8
	worstChunk, worstChunkName := worst(v.Results, "16KiB")
	worstEvent, worstEventName := worst(v.Results, "event")
	last := v.Pages[len(v.Pages)-1]
	start := v.CompileMS + median(v.InstantiateStartMS)
	gs := []goal{
		{"V8: µs per event, 16 KiB chunks (every stream)", fmt.Sprintf("≤ %.1f", goalV8ChunkUS),
			fmt.Sprintf("%.3f over all; worst %.3f (%s)", res.Ratios.V8USPerEvent, worstChunk, worstChunkName), worstChunk <= goalV8ChunkUS},
		{"V8: µs per single-event callback (every stream)", fmt.Sprintf("≤ %.1f", goalV8EventUS),
			fmt.Sprintf("worst %.3f (%s)", worstEvent, worstEventName), worstEvent <= goalV8EventUS},
		{"V8 ÷ native, 16 KiB chunks", fmt.Sprintf("≤ %.0f×", goalV8VsNative), fmt.Sprintf("%.2f×", res.Ratios.V8VsNative), res.Ratios.V8VsNative <= goalV8VsNative},
		{"rate vs the Python processor (V8, 16 KiB chunks)", fmt.Sprintf("≥ %.0f×", goalVsPython), fmt.Sprintf("%.2f×", res.Ratios.VsPython), res.Ratios.VsPython >= goalVsPython},
		{"initial wasm pages", fmt.Sprintf("≤ %d", goalInitialPages), fmt.Sprint(v.InitialPages), v.InitialPages <= goalInitialPages},
		{"linear memory per VM, steady state", fmt.Sprintf("≤ %d MiB", goalSteadyMiB),
			fmt.Sprintf("%.1f MiB (%d pages) after %d streams", float64(last[1])*65536/mib, last[1], last[0]), float64(last[1])*65536 <= goalSteadyMiB*mib},
		{"module size", fmt.Sprintf("≤ %d MiB", goalModuleMiB), fmt.Sprintf("%.2f MiB", float64(v.ModuleBytes)/mib), v.ModuleBytes <= goalModuleMiB*mib},
		{"V8 compile + instantiate + start", fmt.Sprintf("≤ %d ms", goalStartMS),
			fmt.Sprintf("%.1f ms (compile %.1f, instantiate+start %.1f)", start, v.CompileMS, median(v.InstantiateStartMS)), start <= goalStartMS},
	}
	if e := res.Envoy; e != nil {
		plain, noop, tm, sse := e.run("plain"), e.run("wasm_noop"), e.run("tokenmeter"), e.run("sse_to_metadata")
		lplain, lnoop, ltm := find(e.LongRuns, "plain"), find(e.LongRuns, "wasm_noop"), find(e.LongRuns, "tokenmeter")
		gs = append(gs,
			goal{"Envoy + tokenmeter throughput ÷ plain Envoy", fmt.Sprintf("≥ %.0f%%", 100*goalVsPlain),
				fmt.Sprintf("%.0f%% (%.0f vs %.0f MB/s) in %s calls, %.0f%% in %s streams; a no-op wasm filter: %.0f%% and %.0f%%",
					100*tm.MBPerS/plain.MBPerS, tm.MBPerS, plain.MBPerS, size(tm.StreamBytes), 100*ltm.MBPerS/lplain.MBPerS, size(ltm.StreamBytes),
					100*noop.MBPerS/plain.MBPerS, 100*lnoop.MBPerS/lplain.MBPerS),
				tm.MBPerS >= goalVsPlain*plain.MBPerS && ltm.MBPerS >= goalVsPlain*lplain.MBPerS},
			goal{"Envoy + tokenmeter throughput ÷ sse_to_metadata", fmt.Sprintf("≥ %.0f%%", 100*goalVsSSE),
				fmt.Sprintf("%.0f%% (%.0f vs %.0f MB/s)", 100*tm.MBPerS/sse.MBPerS, tm.MBPerS, sse.MBPerS), tm.MBPerS >= goalVsSSE*sse.MBPerS},
			goal{fmt.Sprintf("soak: %d streams, RSS flat in the second half", e.Soak.Streams), fmt.Sprintf("growth ≤ max(%.0f MiB, 1%%)", e.Soak.FlatLimitMB),
				fmt.Sprintf("+%.2f MiB, %d metered completed", e.Soak.SecondHalf, e.Soak.Metered), e.Soak.Flat && e.Soak.Metered == e.Soak.Streams})
	}
	return gs
}

func (e *envoyReport) run(name string) envoyRun { return find(e.Runs, name) }

// find returns the run of the named variant.
func find(runs []envoyRun, name string) envoyRun {
	for _, r := range runs {
		if r.Variant == name {
			return r
		}
	}
	return envoyRun{}
}

// size writes a stream's length in KB or MB.
func size(bytes int) string {
	if bytes >= 1e6 {
		return fmt.Sprintf("%.1f MB", float64(bytes)/1e6)
	}
	return fmt.Sprintf("%.0f KB", float64(bytes)/1e3)
}

// worst is the highest µs per event of one chunking, and its stream.
func worst(runs []streamRun, chunking string) (float64, string) {
	w, name := 0.0, ""
	for _, r := range runs {
		if r.Chunking == chunking && r.USPerEvent > w {
			w, name = r.USPerEvent, r.Stream
		}
	}
	return w, name
}

func renderReport(o options, res *results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := res.Machine
	p("# Benchmarks\n\n")
	p("Generated by `%s` (`go run ./bench/cmd/tmbench`, see its doc comment) on %s in %.0f s. Do not edit by hand.\n\n",
		benchmarksCommand, res.StartedAt.Format("2006-01-02 15:04 UTC"), res.DurationS)
	p("**Machine**: %s, %d cores (shared with other work while measured), %s memory, %s. ", m.CPU, m.Cores, m.Memory, m.Kernel)
	p("**Versions**: %s, Node %s (V8 %s), %s", m.Go, res.V8.Node, res.V8.V8, m.Python)
	if e := res.Envoy; e != nil {
		p(", Envoy %s, %s", e.Version, e.Wrk)
	}
	p(".\n\n")
	p("Every timing is taken in this one run and every goal that has a baseline is a ratio against it. ")
	p("Each figure is the median of %d rounds of whole streams, %d ms per measurement. No test asserts a time.\n\n", res.Rounds, res.BudgetMS)

	p("## Goals\n\n| goal | target | measured | |\n|---|---|---|---|\n")
	for _, g := range goals(res) {
		mark := "not met"
		if g.met {
			mark = "met"
		}
		p("| %s | %s | %s | **%s** |\n", g.name, g.target, g.measured, mark)
	}
	if o.chart != "" {
		p("\n![µs per event by engine and stream](%s)\n", strings.TrimPrefix(o.chart, "./"))
	}

	p("\n## The streams\n\nGenerated deterministically by `bench/streams` from the shapes of `parsers/testdata`; the same bytes go to every engine.\n\n")
	p("| stream | request | events | bytes | usage total |\n|---|---|---|---|---|\n")
	for _, s := range res.StreamInfo {
		p("| %s | `POST %s` | %d | %d | %d |\n", s.Name, s.Path, len(s.EventEnds), s.Bytes, s.TotalTokens)
	}

	p("\n## Per event: native Go, V8, Python\n\n")
	p("- **native**: the plugin's code path in Go on this machine: a new `sseparse` SSE framer and `parsers` parser per stream, each chunk copied (as `GetHttpResponseBody` copies), and, as the plugin does by default, the head framed and parsed up to its first meaningful message, the rest handed to an `sseparse.Tail` (only the end of a chunk longer than the Tail's `EndSize`, `tail_bytes` + 1 KiB for these streams, when that end holds all the Tail keeps), and the kept end framed and parsed when the stream ends (`bench/cmd/tmbench/native.go`). The plugin's record is checked against the parsers' result on every event.\n")
	p("- **V8**: `dist/tokenmeter.wasm` in Node's V8 through the proxy-wasm host `bench/v8/host.mjs` (`bench/v8/bench.mjs`): per stream `proxy_on_context_create`, request headers and body, response headers (200, `text/event-stream`), the body through `proxy_on_response_body`, then `proxy_on_done`, `proxy_on_log`, `proxy_on_delete`, with plugin configuration `{}`; **V8, every event** is the same with `{\"parse_every_event\": true}`. Only the body callbacks are timed; the result the plugin writes to filter state is checked against the native parsers' usage total.\n")
	p("- **Python**: the seed design (`bench/python/processor.py`): an `asyncio.StreamReader` fed 16 KiB chunks, each line decoded, each data line `json.loads`ed.\n\n")
	p("| engine | stream | chunks | callbacks | µs/callback | µs/event | MB/s | µs/call in the other callbacks |\n|---|---|---|---|---|---|---|---|\n")
	for _, set := range res.engines("native Go", "V8", "V8, every event", "Python") {
		for _, r := range set.runs {
			other := "–"
			if r.USOtherPerCall > 0 {
				other = fmt.Sprintf("%.1f", r.USOtherPerCall)
			}
			p("| %s | %s | %s | %d | %.3f | %.3f | %.1f | %s |\n", set.name, r.Stream, r.Chunking, r.Callbacks, r.USPerCallback, r.USPerEvent, r.MBPerS, other)
		}
	}
	p("\nThe last column is what the module spends in V8 per call outside the body callbacks (context, request headers and body, response headers, done, log, delete), the host's own work included: a fixed cost per call, whatever the stream's length.\n")
	r := res.Ratios
	p("\nOver the three streams in 16 KiB chunks: native %.3f, V8 %.3f, Python %.3f µs per event; V8 ÷ native %.2f×; Python ÷ V8 %.2f×.",
		r.NativeUSPerEvent, r.V8USPerEvent, r.PythonUSPerEvent, r.V8VsNative, r.VsPython)
	if res.V8EveryEvent != nil {
		every := aggregate(res.V8EveryEvent.Results, "16KiB")
		p(" Parsing every event, V8 takes %.3f µs per event (%.1f× the default).", every, every/r.V8USPerEvent)
	}
	p("\n")

	v := res.V8
	p("\n## The module in V8\n\n| figure | value |\n|---|---|\n")
	p("| module size | %d bytes |\n| first compile (`new WebAssembly.Module`) | %.1f ms |\n", v.ModuleBytes, v.CompileMS)
	p("| instantiate + `_initialize` + `proxy_on_vm_start` + `proxy_on_configure` | %.1f ms (median of %d fresh VMs) |\n", median(v.InstantiateStartMS), len(v.InstantiateStartMS))
	p("| initial linear memory | %d pages (%.1f MiB) |\n", v.InitialPages, float64(v.InitialPages)*65536/mib)
	for _, pg := range v.Pages {
		p("| linear memory after %d streams | %d pages (%.1f MiB) |\n", pg[0], pg[1], float64(pg[1])*65536/mib)
	}

	if len(res.GoBench) > 0 {
		p("\n## Go package benchmarks\n\n`%s` (16 KiB chunks; `ScanBaseline` only counts newlines: the floor of any line framer). ", strings.Join(goBenchCommand, " "))
		p("The same benchmarks in V8: each package's tests built with `GOOS=wasip1 GOARCH=wasm go test -c` and run in Node's WASI by `bench/v8/gotest.mjs` with `-test.bench=.`.\n\n")
		p("| package | benchmark | ns/op | MB/s | B/op | allocs/op | V8 ns/op | V8 ÷ native |\n|---|---|---|---|---|---|---|---|\n")
		for _, g := range res.GoBench {
			p("| %s | %s | %.0f | %.1f | %.0f | %.0f | %.0f | %.1f× |\n", g.Package, g.Name, g.NsPerOp, g.MBPerS, g.BytesPerOp, g.AllocsPerOp, g.V8NsPerOp, g.V8NsPerOp/g.NsPerOp)
		}
	}
	if e := res.Envoy; e != nil {
		renderEnvoy(p, e)
	}
	p("\n## Reproducing\n\n```\nmake bench        # everything above, rewrites BENCHMARKS.md and %s\nmake bench-quick  # native, V8 and Python only, < 60 s; last line: ratios: …\n", o.chart)
	p("go run ./bench/cmd/tmbench -quick -streams /tmp/streams   # keep the streams, e.g. for node --cpu-prof bench/v8/bench.mjs\n```\n")
	return b.String()
}

// engineRuns are the rows of one engine in the per-event table.
type engineRuns struct {
	name string
	runs []streamRun
}

// engines lists the per-event rows of a run under the given names, the
// every-event V8 rows only when the run measured them.
func (res *results) engines(native, v8, v8Every, python string) []engineRuns {
	sets := []engineRuns{{native, res.Native}, {v8, res.V8.Results}}
	if res.V8EveryEvent != nil {
		sets = append(sets, engineRuns{v8Every, res.V8EveryEvent.Results})
	}
	return append(sets, engineRuns{python, res.Python.Results})
}

// renderLong is the table of the long-stream runs: what a stream's length
// costs, apart from what a call costs.
func renderLong(p func(string, ...any), e *envoyReport) {
	if len(e.LongRuns) == 0 {
		return
	}
	plain, noop := find(e.LongRuns, "plain"), find(e.LongRuns, "wasm_noop")
	p("\nThe same with a stream %d times as long (%s, %d bytes: the OpenAI stream with its content events repeated %d times, the same head and end), throughput only. ",
		longRepeat, size(plain.StreamBytes), plain.StreamBytes, longRepeat)
	p("A call costs the same as above, but now over 40 times the bytes; what a filter does per chunk shows. In this setup Envoy hands a filter the body of such a fast upstream in chunks of up to 1 MiB (seen with a build that logged each body callback). ")
	p("The variants run in %d interleaved rounds of %d s; each row is a variant's median round, and the last column gives every round, lowest first: the spread is the noise of the shared machine.\n\n", len(plain.RoundsMBPerS), plain.WrkDurationS)
	p("| variant | streams | MB/s | vs plain | vs wasm_noop | Envoy CPU s per GB | Envoy CPU µs per call | errors | MB/s of each round |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range e.LongRuns {
		rounds := make([]string, len(r.RoundsMBPerS))
		for i, x := range r.RoundsMBPerS {
			rounds[i] = fmt.Sprintf("%.0f", x)
		}
		p("| %s | %d | %.0f | %.0f%% | %.0f%% | %.2f | %.0f | %d | %s |\n", r.Variant, r.Requests, r.MBPerS, 100*r.MBPerS/plain.MBPerS, 100*r.MBPerS/noop.MBPerS,
			r.CPUSecondsPerGB, r.CPUMicrosPerCall, r.Errors, strings.Join(rounds, ", "))
	}
}

func renderEnvoy(p func(string, ...any), e *envoyReport) {
	r0 := e.Runs[0]
	p("\n## Envoy under load\n\n")
	p("Envoy %s with `--concurrency %d` in front of an upstream in tmbench that answers every call with the OpenAI stream (%d bytes), HTTP/1.1, all on loopback; the config is `bench/envoy/bench.yaml` with the filter under test before the router. ", e.Version, r0.EnvoyConcurrency, r0.StreamBytes)
	p("Throughput: `wrk -t1 -c%d -d%ds -s bench/envoy/post.lua`; on 2 shared cores Envoy, wrk and the upstream compete, so the ratios between variants matter more than the MB/s. ", r0.WrkConnections, r0.WrkDurationS)
	p("Envoy CPU from `/proc/<pid>/stat` over the wrk run. Latency: %d concurrent streams whose events the upstream writes %.0f ms apart, each event's delay from the upstream's write to the client's read. RSS from `/proc/<pid>/status` after the load. tokenmeter runs with configuration `{}` (its JSON log line per call included), as `tokenmeter_every_event` with `{\"parse_every_event\": true}` and as `tokenmeter_log_off` with `{\"log\": \"off\"}`; `wasm_noop` is the same module with `{\"enabled\": false}`, which returns from every callback at once: what any proxy-wasm filter costs in this Envoy, the ceiling for tokenmeter; `sse_to_metadata` extracts model, prompt, completion, total and cached tokens to dynamic metadata.\n\n", r0.LatencyStreamsN, r0.PacedEventsMS)
	plain := e.run("plain")
	p("| variant | streams | MB/s | vs plain | Envoy CPU s per GB | Envoy CPU µs per call | event latency p50 / p99 µs | added p50 / p99 µs | Envoy RSS MiB | errors |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range e.Runs {
		p("| %s | %d | %.0f | %.0f%% | %.2f | %.0f | %.0f / %.0f | %+.0f / %+.0f | %.1f | %d |\n", r.Variant, r.Requests, r.MBPerS, 100*r.MBPerS/plain.MBPerS,
			r.CPUSecondsPerGB, r.CPUMicrosPerCall, r.LatencyP50US, r.LatencyP99US, r.LatencyP50US-plain.LatencyP50US, r.LatencyP99US-plain.LatencyP99US, r.RSSMiB, r.Errors)
	}
	tm, noop, logOff := e.run("tokenmeter"), e.run("wasm_noop"), e.run("tokenmeter_log_off")
	p("\nPer call, tokenmeter costs Envoy %.0f µs of CPU more than plain Envoy: %.0f µs that any wasm filter costs (`wasm_noop`) and %.0f µs of its own work, %.0f µs of it without its log line. At 1,000 metered calls a second that is %.0f%% of one core.\n",
		tm.CPUMicrosPerCall-plain.CPUMicrosPerCall, noop.CPUMicrosPerCall-plain.CPUMicrosPerCall, tm.CPUMicrosPerCall-noop.CPUMicrosPerCall,
		logOff.CPUMicrosPerCall-noop.CPUMicrosPerCall, (tm.CPUMicrosPerCall-plain.CPUMicrosPerCall)/10)
	renderLong(p, e)
	p("\nMemory per worker: with one worker Envoy runs two tokenmeter VMs (main thread and worker), so tokenmeter adds about %.0f MiB of RSS per VM (%.1f MiB in all over plain Envoy).\n", (tm.RSSMiB-plain.RSSMiB)/2, tm.RSSMiB-plain.RSSMiB)
	p("\nFilter counters after the runs:\n\n```\n")
	for _, r := range e.Runs {
		if r.FilterStats != "" {
			p("%s\n", r.FilterStats)
		}
	}
	p("```\n")
	s := e.Soak
	p("\n### Soak\n\n%d streams through Envoy + tokenmeter from %d clients in %.1f s, %d errors; Envoy RSS sampled every %d streams:\n\n", s.Streams, soakClients, s.Seconds, s.Errors, s.Streams/40)
	p("| streams | RSS MiB |\n|---|---|\n")
	for i, x := range s.Samples {
		if i%4 == 0 || i == len(s.Samples)-1 {
			p("| %.0f | %.1f |\n", x[0], x[1])
		}
	}
	p("\nSecond half growth: %+.2f MiB (flat: %v).\n", s.SecondHalf, s.Flat)
}
