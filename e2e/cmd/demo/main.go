// Command demo shows tokenmeter at work with nothing to set up: it starts
// the fake LLM provider and Envoy with examples/envoy/demo.yaml and
// dist/tokenmeter.wasm, sends a few calls in each API's shape, prints one
// line of usage per call from Envoy's access log, and then stays up with
// curl commands to try until Ctrl-C, which stops everything it started.
//
// Run it with `make run`, which builds the plugin and installs Envoy first.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tokenmeter/tokenmeter/e2e/envoyrun"
	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

func main() {
	port := flag.Int("port", 10000, "port of Envoy's LLM listener")
	adminPort := flag.Int("admin-port", 9901, "port of Envoy's admin API")
	flag.Parse()
	if err := run(*port, *adminPort); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// sample is one demo call: an API shape and the fixture the fake provider
// answers it with.
type sample struct {
	title, path, body string
	headers           map[string]string
}

const prompt = `[{"role":"user","content":"Say hello in three languages."}]`

var samples = []sample{
	{"OpenAI chat, streamed", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":` + prompt + `}`, nil},
	{"OpenAI chat", "/v1/chat/completions", `{"model":"o4-mini","messages":` + prompt + `}`, nil},
	{"OpenAI responses, streamed", "/v1/responses", `{"model":"gpt-4.1-mini","stream":true,"input":"Say hello in three languages."}`, nil},
	{"OpenAI responses", "/v1/responses", `{"model":"o4-mini","input":"Say hello in three languages."}`, nil},
	{"Anthropic messages, streamed", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":` + prompt + `}`, nil},
	{"Anthropic messages", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":256,"messages":` + prompt + `}`, nil},
	{"Gemini, streamed (SSE)", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}`, nil},
	{"Gemini, streamed (JSON array)", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}`, nil},
	{"Gemini", "/v1beta/models/gemini-2.5-flash-lite:generateContent", `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}`, nil},
	{"Bedrock ConverseStream (eventstream)", "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream", `{"messages":[{"role":"user","content":[{"text":"Say hello"}]}]}`, nil},
	{"Ollama chat, streamed (NDJSON)", "/api/chat", `{"model":"llama3.2","messages":` + prompt + `}`, nil},
	{"OpenAI chat, streamed, no usage asked", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":` + prompt + `}`, nil},
	{"Same on the /inject-usage/ route", "/inject-usage/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":` + prompt + `}`, nil},
	{"Anthropic overloaded error inside a 200", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":` + prompt + `}`,
		map[string]string{fakellm.HeaderFixture: "anthropic/overloaded.sse"}},
	{"Same stream on the /unmetered/ route", "/unmetered/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":` + prompt + `}`, nil},
}

func run(port, adminPort int) error {
	root, err := envoyrun.RepoRoot()
	if err != nil {
		return err
	}
	envoyPath, err := envoyrun.EnvoyPath(root)
	if err != nil {
		return err
	}
	wasm := filepath.Join(root, "dist", "tokenmeter.wasm")
	if _, err := os.Stat(wasm); err != nil {
		return fmt.Errorf("%w (run `make run`, which builds it)", err)
	}
	dir, err := os.MkdirTemp("", "tokenmeter-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fake, err := fakellm.New(filepath.Join(root, "e2e", "testdata")).Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer fake.Close()
	upstreamHost, upstreamPort, _ := strings.Cut(fake.Addr, ":")

	envoyLog, err := os.Create(filepath.Join(dir, "envoy.log"))
	if err != nil {
		return err
	}
	defer envoyLog.Close()
	fmt.Printf("Starting Envoy with tokenmeter (examples/envoy/demo.yaml) on 127.0.0.1:%d ...\n", port)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	envoy, err := envoyrun.Start(ctx, envoyrun.Options{
		EnvoyPath: envoyPath,
		Template:  filepath.Join(root, "examples", "envoy", "demo.yaml"),
		Vars: map[string]string{
			"WASM": wasm, "LISTENER_PORT": fmt.Sprint(port), "ADMIN_PORT": fmt.Sprint(adminPort),
			"UPSTREAM_HOST": upstreamHost, "UPSTREAM_PORT": upstreamPort,
		},
		Dir: dir,
		Log: envoyLog,
	})
	if envoy != nil {
		defer envoy.Stop()
	}
	if err != nil {
		return fmt.Errorf("%w\n(ports in use? try -port and -admin-port)\n%s", err, tail(envoy.Log(), 15))
	}
	fmt.Printf("Fake LLM provider on %s; Envoy's log: %s\n\n", fake.Addr, envoyLog.Name())

	entries := envoyrun.Follow(ctx, envoy.AccessLog)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i, s := range samples {
		id := fmt.Sprintf("demo-%d", i+1)
		status, err := send(ctx, base, s, id)
		if err != nil {
			return err
		}
		fmt.Printf("%-42s → HTTP %d\n", s.title, status)
		if !awaitEntry(ctx, entries, id) {
			return nil
		}
	}

	fmt.Printf(`
Envoy keeps running. Try it yourself (each call adds a line below):

  curl -sN %[1]s/v1/chat/completions -H 'content-type: application/json' \
    -d '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":%[3]s}'

  # an overloaded error hidden inside a 200 becomes a real 529 for the client:
  curl -si %[1]s/v1/messages -H '%[4]s: anthropic/overloaded.sse' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":%[3]s}'

  # other fixtures: ls e2e/testdata; slow streams: -H '%[5]s: 500'
  curl -s %[2]s/stats/prometheus | grep '^tokenmeter_'
  tail -f %[6]s

Ctrl-C stops Envoy and the fake provider.

`, base, envoy.AdminURL, prompt, fakellm.HeaderFixture, fakellm.HeaderEventDelay, envoy.AccessLog)
	for e := range entries {
		fmt.Println(describe(e))
	}
	fmt.Println("\nStopping.")
	return nil
}

// send makes one sample call and reads the answer to its end.
func send(ctx context.Context, base string, s sample, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+s.path, strings.NewReader(s.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-request-id", id)
	req.Header.Set(fakellm.HeaderFirstDelay, "250") // a provider thinks before it speaks
	req.Header.Set(fakellm.HeaderEventDelay, "40")  // a visible stream, still quick
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// awaitEntry prints access log entries until the one for id; false when
// the demo is stopping.
func awaitEntry(ctx context.Context, entries <-chan envoyrun.Entry, id string) bool {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-entries:
			if !ok {
				return false
			}
			fmt.Println(describe(e))
			if e.String("request_id") == id {
				return true
			}
		case <-timeout:
			fmt.Println("  (no access log line within 10s)")
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// describe renders an access log entry as one readable line of usage.
func describe(e envoyrun.Entry) string {
	u, err := e.Usage()
	if err != nil {
		return "  " + err.Error()
	}
	if u == nil {
		return fmt.Sprintf("  %s %s: not metered (route %s)", e.String("status"), e.String("path"), e.String("route"))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "  %-9s %-28s %-6s ", u["provider"], u["model"], streamWord(u["stream"]))
	if u["usage_reported"] == false {
		b.WriteString("usage not reported")
	} else {
		fmt.Fprintf(&b, "in %v", u["input_tokens"])
		if u["cache_read_tokens"] != 0.0 || u["cache_creation_tokens"] != 0.0 {
			fmt.Fprintf(&b, " (cache read %v, write %v)", u["cache_read_tokens"], u["cache_creation_tokens"])
		}
		fmt.Fprintf(&b, "  out %v", u["output_tokens"])
		if u["reasoning_tokens"] != 0.0 {
			fmt.Fprintf(&b, " (reasoning %v)", u["reasoning_tokens"])
		}
		fmt.Fprintf(&b, "  total %v", u["total_tokens"])
	}
	fmt.Fprintf(&b, "  %v", u["outcome"])
	if t, _ := u["error_type"].(string); t != "" {
		fmt.Fprintf(&b, " (%s)", t)
	}
	fmt.Fprintf(&b, "  status %v  ttfb %vms", u["status"], u["ttfb_ms"])
	return b.String()
}

func streamWord(v any) string {
	if v == true {
		return "stream"
	}
	return "whole"
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
