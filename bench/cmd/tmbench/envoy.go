package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenmeter/tokenmeter/bench/streams"
	"github.com/tokenmeter/tokenmeter/e2e/envoyrun"
)

// The Envoy load runs put each filter variant between a load generator and
// an upstream in this process that answers every call with the generated
// OpenAI stream, all on loopback, Envoy with one worker:
//
//   - throughput: wrk (Debian package) with keep-alive connections for a
//     fixed time; Envoy's CPU time comes from /proc/<pid>/stat;
//   - latency: the upstream paces the events and notes when it wrote each;
//     a client here notes when each arrived; the difference per event,
//     compared with plain Envoy, is the latency a filter adds;
//   - memory: Envoy's RSS after the load; the soak sends soak streams
//     through tokenmeter and samples RSS as it goes;
//   - long streams: throughput and CPU again for plain Envoy, the no-op
//     filter and tokenmeter with a stream 40 times as long, so that the
//     cost of a stream's length shows apart from the cost of a call; the
//     median of three interleaved rounds, as these runs are short.

const (
	envoyTemplate  = "bench/envoy/bench.yaml"
	wrkScript      = "bench/envoy/post.lua"
	wrkConnections = 8
	latencyStreams = 8                    // concurrent paced streams per variant
	eventPace      = 2 * time.Millisecond // between the upstream's events
	soakClients    = 8
	requestIDHdr   = "x-request-id"
	longRepeat     = 40 // how many times longStream repeats the OpenAI stream's middle
	longRounds     = 3  // interleaved rounds of the long-stream runs
)

// longStream is the OpenAI stream lengthened to about 4 MB, some 12,000
// events: a long answer.
func longStream() streams.Stream {
	s := streams.OpenAIChat()
	return s.Lengthened(longRepeat)
}

// variant is one filter chain under test.
type variant struct {
	name   string
	filter string // a flow-style YAML list element with its trailing comma, or ""
}

func variants(wasm string) []variant {
	return []variant{
		{"plain", ""},
		{"wasm_noop", wasmFilter(wasm, `{"enabled": false}`)},
		{"tokenmeter", wasmFilter(wasm, `{}`)},
		{"tokenmeter_every_event", wasmFilter(wasm, everyEventConfig)},
		{"tokenmeter_log_off", wasmFilter(wasm, `{"log": "off"}`)},
		{"sse_to_metadata", `{name: envoy.filters.http.sse_to_metadata, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.sse_to_metadata.v3.SseToMetadata, response_rules: {content_parser: {name: envoy.content_parsers.json, typed_config: {"@type": type.googleapis.com/envoy.extensions.content_parsers.json.v3.JsonContentParser, rules: [` +
			sseRule("model", "model", "STRING", 1) + sseRule("usage.prompt_tokens", "input_tokens", "NUMBER", 0) +
			sseRule("usage.completion_tokens", "output_tokens", "NUMBER", 0) + sseRule("usage.total_tokens", "total_tokens", "NUMBER", 0) +
			sseRule("usage.prompt_tokens_details.cached_tokens", "cache_read_tokens", "NUMBER", 0) + `]}}}}},`},
	}
}

// wasmFilter is the tokenmeter module as an Envoy wasm filter with the
// given plugin configuration. The variant "wasm_noop" runs it disabled:
// what any proxy-wasm filter costs in this Envoy before it does anything.
func wasmFilter(wasm, config string) string {
	return `{name: tokenmeter, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm, config: {name: tokenmeter, root_id: tokenmeter, allow_on_headers_stop_iteration: true, vm_config: {runtime: envoy.wasm.runtime.v8, code: {local: {filename: "` +
		wasm + `"}}}, configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: ` + strconv.Quote(config) + `}}}},`
}

// sseRule is one sse_to_metadata JSON rule writing the value at a dotted
// path to metadata namespace "llm".
func sseRule(path, key, typ string, stopAfter int) string {
	var sel []string
	for _, k := range strings.Split(path, ".") {
		sel = append(sel, "{key: "+k+"}")
	}
	return fmt.Sprintf("{rule: {selectors: [%s], on_present: {metadata_namespace: llm, key: %s, type: %s}}, stop_processing_after_matches: %d},",
		strings.Join(sel, ", "), key, typ, stopAfter)
}

// envoyRun is what one variant measured.
type envoyRun struct {
	Variant          string  `json:"variant"`
	Requests         int     `json:"requests"`
	Errors           int     `json:"errors"`
	Seconds          float64 `json:"seconds"`
	MBPerS           float64 `json:"mb_per_s"`
	CPUSecondsPerGB  float64 `json:"cpu_s_per_gb"`
	CPUMicrosPerCall float64 `json:"cpu_us_per_call"`
	// RoundsMBPerS are the throughputs of every round when the run is the
	// median of several (the long-stream runs), lowest first.
	RoundsMBPerS     []float64 `json:"rounds_mb_per_s,omitempty"`
	EnvoyCPUPercent  float64   `json:"envoy_cpu_percent"`
	LatencyP50US     float64   `json:"latency_p50_us"`
	LatencyP99US     float64   `json:"latency_p99_us"`
	LatencyEvents    int       `json:"latency_events"`
	RSSMiB           float64   `json:"rss_mib"`
	FilterStats      string    `json:"filter_stats"`
	StreamBytes      int       `json:"stream_bytes"`
	WrkDurationS     int       `json:"wrk_duration_s"`
	WrkConnections   int       `json:"wrk_connections"`
	PacedEventsMS    float64   `json:"paced_event_interval_ms"`
	LatencyStreamsN  int       `json:"latency_streams"`
	EnvoyConcurrency int       `json:"envoy_concurrency"`
}

// soakReport is the memory of Envoy with tokenmeter over many streams.
type soakReport struct {
	Streams     int          `json:"streams"`
	Errors      int          `json:"errors"`
	Seconds     float64      `json:"seconds"`
	Samples     [][2]float64 `json:"samples"` // streams done, RSS MiB
	SecondHalf  float64      `json:"second_half_growth_mib"`
	Flat        bool         `json:"flat"`
	Metered     int          `json:"metered_completed"`
	FlatLimitMB float64      `json:"flat_limit_mib"`
}

// envoyReport is the whole Envoy section of a run.
type envoyReport struct {
	Version string     `json:"version"`
	Wrk     string     `json:"wrk"`
	Runs    []envoyRun `json:"runs"`
	// LongRuns are plain, wasm_noop and tokenmeter with longStream,
	// throughput only, each the median of longRounds rounds.
	LongRuns []envoyRun `json:"long_runs"`
	Soak     soakReport `json:"soak"`
}

func measureEnvoy(o options, all []streams.Stream) (*envoyReport, error) {
	root, err := envoyrun.RepoRoot()
	if err != nil {
		return nil, err
	}
	envoyPath, err := envoyrun.EnvoyPath(root)
	if err != nil {
		return nil, err
	}
	wasm, err := filepath.Abs(o.wasm)
	if err != nil {
		return nil, err
	}
	rep := &envoyReport{Version: firstLine(envoyPath, "--version"), Wrk: firstLine("wrk", "--version")}
	// "<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL" -> "1.40.0"
	if _, v, ok := strings.Cut(rep.Version, "version: "); ok {
		if f := strings.Split(v, "/"); len(f) > 2 {
			rep.Version = f[1]
		}
	}
	up, err := startUpstream(&all[0])
	if err != nil {
		return nil, err
	}
	defer up.close()
	duration := 5
	for _, v := range variants(wasm) {
		log.Printf("  Envoy %s", v.name)
		run, err := withEnvoy(envoyPath, v, up, func(e *envoyrun.Envoy, addr string, pid int) (envoyRun, error) {
			return loadVariant(e, addr, pid, up, duration, true)
		})
		if err != nil {
			return nil, fmt.Errorf("envoy %s: %w", v.name, err)
		}
		run.Variant = v.name
		rep.Runs = append(rep.Runs, run)
	}
	if rep.LongRuns, err = measureLong(envoyPath, wasm, duration); err != nil {
		return nil, err
	}
	log.Printf("  Envoy soak: %d streams through tokenmeter", o.soak)
	_, err = withEnvoy(envoyPath, variants(wasm)[2], up, func(e *envoyrun.Envoy, addr string, pid int) (envoyRun, error) {
		s, err := soak(e, addr, pid, o.soak)
		rep.Soak = s
		return envoyRun{}, err
	})
	return rep, err
}

// measureLong runs plain Envoy, the no-op filter and tokenmeter with
// longStream, interleaved over longRounds rounds so that a slow spell of
// the shared machine does not fall on one variant only, and keeps each
// variant's median round by throughput.
func measureLong(envoyPath, wasm string, seconds int) ([]envoyRun, error) {
	long := longStream()
	up, err := startUpstream(&long)
	if err != nil {
		return nil, err
	}
	defer up.close()
	vs := variants(wasm)[:3]
	rounds := make([][]envoyRun, len(vs))
	for r := range longRounds {
		for i, v := range vs {
			log.Printf("  Envoy %s, long streams, round %d of %d", v.name, r+1, longRounds)
			run, err := withEnvoy(envoyPath, v, up, func(e *envoyrun.Envoy, addr string, pid int) (envoyRun, error) {
				return loadVariant(e, addr, pid, up, seconds, false)
			})
			if err != nil {
				return nil, fmt.Errorf("envoy %s, long streams: %w", v.name, err)
			}
			run.Variant = v.name
			rounds[i] = append(rounds[i], run)
		}
	}
	runs := make([]envoyRun, len(vs))
	for i, rs := range rounds {
		slices.SortFunc(rs, func(a, b envoyRun) int { return cmp.Compare(a.MBPerS, b.MBPerS) })
		runs[i] = rs[len(rs)/2]
		for _, r := range rs {
			runs[i].RoundsMBPerS = append(runs[i].RoundsMBPerS, r.MBPerS)
		}
	}
	return runs, nil
}

// withEnvoy starts Envoy with one variant, runs f against it and stops it.
func withEnvoy(envoyPath string, v variant, up *upstream, f func(e *envoyrun.Envoy, addr string, pid int) (envoyRun, error)) (envoyRun, error) {
	dir, err := os.MkdirTemp("", "tmbench-envoy-")
	if err != nil {
		return envoyRun{}, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	e, err := envoyrun.Start(ctx, envoyrun.Options{
		EnvoyPath: envoyPath, Template: envoyTemplate, Dir: dir, Concurrency: 1,
		Vars: map[string]string{"EXTRA_FILTER": v.filter, "UPSTREAM_PORT": strconv.Itoa(up.port)},
	})
	if err != nil {
		if e != nil {
			err = fmt.Errorf("%w\n%s", err, e.Log())
		}
		return envoyRun{}, err
	}
	defer e.Stop()
	addr, err := e.ListenerAddr(ctx, "bench")
	if err != nil {
		return envoyRun{}, err
	}
	pid, err := findPID(filepath.Join(dir, "envoy.yaml"))
	if err != nil {
		return envoyRun{}, err
	}
	return f(e, addr, pid)
}

// loadVariant measures throughput, CPU, memory and, with paced, latency
// of one Envoy.
func loadVariant(e *envoyrun.Envoy, addr string, pid int, up *upstream, seconds int, paced bool) (envoyRun, error) {
	run := envoyRun{StreamBytes: len(up.s.Body), WrkDurationS: seconds, WrkConnections: wrkConnections, EnvoyConcurrency: 1}
	c := newClient(addr)
	for range 20 { // warm-up: VMs started, connections open
		if _, err := c.stream(""); err != nil {
			return run, err
		}
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return run, err
	}
	start := time.Now()
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(wrkConnections), "-d"+strconv.Itoa(seconds)+"s", "-s", wrkScript, "http://"+addr).CombinedOutput()
	if err != nil {
		return run, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	run.Seconds = time.Since(start).Seconds()
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return run, err
	}
	run.Requests, run.Errors = parseWrk(out)
	bytes := float64(run.Requests) * float64(len(up.s.Body))
	run.MBPerS = bytes / run.Seconds / 1e6
	run.CPUSecondsPerGB = (cpu1 - cpu0) / (bytes / 1e9)
	run.EnvoyCPUPercent = 100 * (cpu1 - cpu0) / run.Seconds
	if run.RSSMiB, err = rssMiB(pid); err != nil {
		return run, err
	}
	run.CPUMicrosPerCall = (cpu1 - cpu0) / float64(run.Requests) * 1e6
	if paced {
		lat, err := c.latencies(up)
		if err != nil {
			return run, err
		}
		run.LatencyEvents = len(lat)
		run.LatencyP50US, run.LatencyP99US = percentile(lat, 0.50), percentile(lat, 0.99)
		run.PacedEventsMS, run.LatencyStreamsN = float64(eventPace)/float64(time.Millisecond), latencyStreams
	}
	stats, err := e.Admin(context.Background(), "/stats?filter=(wasmcustom.tokenmeter.calls|sse_to_metadata)")
	if err == nil {
		run.FilterStats = strings.TrimSpace(string(stats))
	}
	return run, nil
}

var wrkLine = regexp.MustCompile(`(?m)^\s*(\d+) requests in`)
var wrkErrors = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)

// parseWrk reads the request count and the errors of wrk's report.
func parseWrk(out []byte) (requests, errors int) {
	if m := wrkLine.FindSubmatch(out); m != nil {
		requests, _ = strconv.Atoi(string(m[1]))
	}
	for _, m := range wrkErrors.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			errors += n
		}
	}
	return requests, errors
}

// soak sends n streams through Envoy from soakClients clients and samples
// Envoy's RSS every n/40 streams.
func soak(e *envoyrun.Envoy, addr string, pid, n int) (soakReport, error) {
	rep := soakReport{Streams: n, FlatLimitMB: 1}
	c := newClient(addr)
	var mu sync.Mutex
	done := 0
	every := max(n/40, 1)
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	for range soakClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				_, err := c.stream("")
				mu.Lock()
				if err != nil {
					rep.Errors++
					firstErr = cmpOr(firstErr, err)
				}
				done++
				if done%every == 0 {
					if rss, err := rssMiB(pid); err == nil {
						rep.Samples = append(rep.Samples, [2]float64{float64(done), rss})
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	if rep.Errors > 0 {
		return rep, fmt.Errorf("soak: %d of %d streams failed, first: %w", rep.Errors, n, firstErr)
	}
	half := rep.Samples[len(rep.Samples)/2][1]
	for _, s := range rep.Samples[len(rep.Samples)/2:] {
		rep.SecondHalf = max(rep.SecondHalf, s[1]-half)
	}
	rep.Flat = rep.SecondHalf <= max(rep.FlatLimitMB, half/100)
	stats, err := e.Admin(context.Background(), "/stats?filter=wasmcustom.tokenmeter.calls.*outcome.completed")
	if err != nil {
		return rep, err
	}
	for _, line := range strings.Split(string(stats), "\n") {
		if _, v, ok := strings.Cut(line, ": "); ok {
			k, _ := strconv.Atoi(strings.TrimSpace(v))
			rep.Metered += k
		}
	}
	return rep, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// client makes streaming calls through Envoy.
type client struct {
	url string
	hc  *http.Client
}

func newClient(addr string) *client {
	return &client{url: "http://" + addr + "/v1/chat/completions", hc: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		Timeout:   60 * time.Second,
	}}
}

// stream makes one call; with a request id the upstream paces its events
// and the arrival time of each event is returned.
func (c *client) stream(id string) ([]time.Time, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"model":"gpt-4.1-mini","stream":true}`))
	if err != nil {
		return nil, err
	}
	req.Host = "api.openai.com"
	req.Header.Set("content-type", "application/json")
	if id != "" {
		req.Header.Set(requestIDHdr, id)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	if id == "" {
		_, err = io.Copy(io.Discard, resp.Body)
		return nil, err
	}
	var arrivals []time.Time
	buf := make([]byte, 64<<10)
	var tail []byte
	for {
		n, err := resp.Body.Read(buf)
		now := time.Now()
		tail = append(tail, buf[:n]...)
		for {
			i := bytes.Index(tail, []byte("\n\n"))
			if i < 0 {
				break
			}
			arrivals = append(arrivals, now)
			tail = tail[i+2:]
		}
		if err == io.EOF {
			return arrivals, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// latencies runs latencyStreams paced streams at once and returns each
// event's delay from the upstream's write to the client's read, in µs.
func (c *client) latencies(up *upstream) ([]float64, error) {
	var mu sync.Mutex
	var lat []float64
	var firstErr error
	var wg sync.WaitGroup
	for i := range latencyStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "lat-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			arrivals, err := c.stream(id)
			sent := up.sent(id)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && len(arrivals) != len(sent) {
				err = fmt.Errorf("%d events arrived, %d sent", len(arrivals), len(sent))
			}
			if err != nil {
				firstErr = cmpOr(firstErr, err)
				return
			}
			for j := range sent {
				lat = append(lat, float64(arrivals[j].Sub(sent[j]).Nanoseconds())/1e3)
			}
		}()
	}
	wg.Wait()
	return lat, firstErr
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(int(p*float64(len(s))), len(s)-1)]
}

// upstream answers every call with one stream: at once, or paced event by
// event when the call carries a request id, noting when each event was
// written.
type upstream struct {
	s     *streams.Stream
	port  int
	srv   *http.Server
	mu    sync.Mutex
	sends map[string][]time.Time
}

func startUpstream(s *streams.Stream) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{s: s, port: ln.Addr().(*net.TCPAddr).Port, sends: map[string][]time.Time{}}
	u.srv = &http.Server{Handler: u}
	go u.srv.Serve(ln)
	return u, nil
}

func (u *upstream) close() { u.srv.Close() }

// sent returns and forgets the write times of a paced stream.
func (u *upstream) sent(id string) []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.sends[id]
	delete(u.sends, id)
	return t
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("content-type", u.s.ContentType)
	w.WriteHeader(http.StatusOK)
	id := r.Header.Get(requestIDHdr)
	if id == "" || !strings.HasPrefix(id, "lat-") {
		_, _ = w.Write(u.s.Body)
		return
	}
	rc := http.NewResponseController(w)
	times := make([]time.Time, 0, u.s.Events())
	for i, ev := range u.s.EventChunks() {
		if i > 0 {
			time.Sleep(eventPace)
		}
		times = append(times, time.Now())
		if _, err := w.Write(ev); err != nil {
			return
		}
		_ = rc.Flush()
	}
	u.mu.Lock()
	u.sends[id] = times
	u.mu.Unlock()
}

// findPID finds the Envoy process started with the given config file.
func findPID(config string) (int, error) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(config)) || !bytes.Contains(b, []byte("envoy")) {
			continue
		}
		args := bytes.Split(b, []byte{0})
		if !strings.HasSuffix(string(args[0]), "envoy") {
			continue
		}
		return strconv.Atoi(filepath.Base(filepath.Dir(p)))
	}
	return 0, fmt.Errorf("no Envoy process runs %s", config)
}

// cpuSeconds is the user plus system CPU time a process has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces): utime is the
	// 14th field of the line, stime the 15th, in clock ticks (100 Hz).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil
}

// rssMiB is a process's resident memory.
func rssMiB(pid int) (float64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}
