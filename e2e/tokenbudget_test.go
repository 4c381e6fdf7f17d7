//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/e2e/envoyrun"
)

// TestTokenBudget runs examples/token-budget against the real rate limit
// service (envoyproxy/ratelimit, built by `make ratelimit`) backed by a real
// Redis (Debian's redis-server, `make redis`): Envoy's rate limit filter
// checks each call against the API key's budget when it arrives and charges
// %FILTER_STATE(wasm.llm.total_tokens:PLAIN)% when the stream is done. With
// a budget of three calls' worth of tokens, the fourth call still passes
// (the budget is not yet exceeded, only used up) and the fifth is answered
// 429 before it reaches tokenmeter or the provider. Another key keeps its
// own budget.
func TestTokenBudget(t *testing.T) {
	t.Parallel()
	c := caseNamed(t, "openai/chat-stream")
	perCall, err := strconv.Atoi(text(c.Usage["total_tokens"]))
	if err != nil || perCall == 0 {
		t.Fatalf("fixture %s has no total_tokens: %v", c.Name, c.Usage)
	}
	budget := 3 * perCall
	rls := startRateLimit(t, startRedis(t), map[string]string{"TOKENS_PER_DAY": strconv.Itoa(budget)})
	rlsHost, rlsPort, _ := strings.Cut(rls.grpcAddr, ":")
	s := startExampleEnvoy(t, "examples/token-budget/envoy.yaml", map[string]string{"RATELIMIT_HOST": rlsHost, "RATELIMIT_PORT": rlsPort})

	// key is unique per run so that a rerun against the same Redis starts
	// from a full budget.
	key := fmt.Sprintf("team-a-%d", time.Now().UnixNano())
	client := clients["HTTP/1.1"]
	for i := range 4 {
		remaining := budget - i*perCall
		req, id := newRequest(t.Context(), t, s.addr, "", c, map[string]string{"x-api-key": key})
		resp, body := call(t, client, req)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, c.Data) {
			t.Fatalf("call %d: status %d, body %s; want 200 and the fixture", i+1, resp.StatusCode, digest(body))
		}
		if got := resp.Header.Get("x-ratelimit-remaining"); got != strconv.Itoa(remaining) {
			t.Errorf("call %d: x-ratelimit-remaining %q, want %d", i+1, got, remaining)
		}
		if e := s.entry(t, id); e.String("llm_total_tokens") != strconv.Itoa(perCall) {
			t.Errorf("call %d: access log total tokens %q, want %d", i+1, e.String("llm_total_tokens"), perCall)
		}
		// The charge is sent when the stream is done; wait until the
		// service has counted it before the next call.
		rls.awaitSpent(t, key, (i+1)*perCall, budget)
	}

	req, id := newRequest(t.Context(), t, s.addr, "", c, map[string]string{"x-api-key": key})
	resp, _ := call(t, client, req)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("call over budget: status %d, want 429", resp.StatusCode)
	}
	e := s.entry(t, id)
	if !strings.Contains(e.String("response_flags"), "RL") || e.String("llm_usage") != "" {
		t.Errorf("call over budget: response flags %q, usage %q; want RL and no usage (tokenmeter never saw it)",
			e.String("response_flags"), e.String("llm_usage"))
	}
	// By its request ID: the shared fake's request count also moves with
	// the tests running in parallel.
	if _, reached := env.fake.Received(id); reached {
		t.Errorf("the call over budget reached the provider")
	}

	other := key + "-other"
	req, _ = newRequest(t.Context(), t, s.addr, "", c, map[string]string{"x-api-key": other})
	if resp, _ := call(t, client, req); resp.StatusCode != http.StatusOK || resp.Header.Get("x-ratelimit-remaining") != strconv.Itoa(budget) {
		t.Errorf("another key: status %d, remaining %q; want 200 and the full budget %d",
			resp.StatusCode, resp.Header.Get("x-ratelimit-remaining"), budget)
	}
}

// startRedis starts a private redis-server on a Unix socket (no TCP port,
// no persistence) and returns the socket path.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (run `make redis`): %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	startProcess(t, "redis-server", exec.Command(bin, "--port", "0", "--unixsocket", sock,
		"--save", "", "--appendonly", "no", "--dir", dir))
	awaitReady(t, "redis-server", func() error {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			conn.Close()
		}
		return err
	})
	return sock
}

// rateLimitService is a running envoyproxy/ratelimit.
type rateLimitService struct {
	grpcAddr string // for Envoy
	httpURL  string // /json and /healthcheck
}

// startRateLimit starts the rate limit service with the example's
// ratelimit.yaml (rendered with vars) on Redis at redisSock.
func startRateLimit(t *testing.T, redisSock string, vars map[string]string) *rateLimitService {
	t.Helper()
	bin := filepath.Join(env.root, "dist", "tools", "service_cmd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the rate limit service is not built (run `make ratelimit`): %v", err)
	}
	runtime := t.TempDir()
	config, err := envoyrun.Render(filepath.Join(env.root, "examples", "token-budget", "ratelimit.yaml"), vars)
	if err != nil {
		t.Fatal(err)
	}
	configDir := filepath.Join(runtime, "ratelimit", "config")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(configDir, "tokenmeter.yaml"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	httpPort, grpcPort, debugPort := freePort(t), freePort(t), freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"HOST=127.0.0.1", "PORT="+httpPort,
		"GRPC_HOST=127.0.0.1", "GRPC_PORT="+grpcPort,
		"DEBUG_HOST=127.0.0.1", "DEBUG_PORT="+debugPort,
		"USE_STATSD=false", "LOG_LEVEL=warn",
		"REDIS_SOCKET_TYPE=unix", "REDIS_URL="+redisSock,
		"RUNTIME_ROOT="+runtime, "RUNTIME_SUBDIRECTORY=ratelimit",
		"RUNTIME_WATCH_ROOT=false", "RUNTIME_IGNOREDOTFILES=true",
	)
	startProcess(t, "ratelimit", cmd)
	s := &rateLimitService{grpcAddr: "127.0.0.1:" + grpcPort, httpURL: "http://127.0.0.1:" + httpPort}
	awaitReady(t, "ratelimit", func() error {
		resp, err := http.Get(s.httpURL + "/healthcheck")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthcheck: %s", resp.Status)
		}
		return nil
	})
	return s
}

// awaitSpent waits until the service has charged key spent tokens: it asks
// through /json with a per-descriptor hits_addend of 0, which checks
// without spending. Past the budget the service only says OVER_LIMIT.
func (s *rateLimitService) awaitSpent(t *testing.T, key string, spent, budget int) {
	t.Helper()
	query := fmt.Sprintf(`{"domain":"tokenmeter","descriptors":[{"entries":[{"key":"api_key","value":%q}],"hits_addend":0}]}`, key)
	want := fmt.Sprintf("OK %d", budget-spent)
	if spent > budget {
		want = "OVER_LIMIT 0"
	}
	var got string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Post(s.httpURL+"/json", "application/json", strings.NewReader(query))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			OverallCode string `json:"overallCode"`
			Statuses    []struct {
				LimitRemaining int `json:"limitRemaining"`
			} `json:"statuses"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || len(r.Statuses) != 1 {
			t.Fatalf("/json: %v %+v", err, r)
		}
		if got = fmt.Sprintf("%s %d", r.OverallCode, r.Statuses[0].LimitRemaining); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("rate limit service says %q for %s, want %q after %d tokens", got, key, want, spent)
}

// startProcess runs cmd until the test ends, and shows its output if the
// test failed. (With one writer for both streams, exec writes to it from
// one goroutine at a time, and it is read only after Wait.)
func startProcess(t *testing.T, name string, cmd *exec.Cmd) {
	t.Helper()
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
}

// awaitReady polls ready for up to 20 s.
func awaitReady(t *testing.T, name string, ready func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready: %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort is a loopback TCP port that was free a moment ago, for services
// that cannot be told to pick one and report it.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
