package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventChunks cuts an SSE body after every blank line, so each chunk
// carries one event (or one comment block), as a provider flushes them.
func eventChunks(body []byte) [][]byte {
	var out [][]byte
	for len(body) > 0 {
		i := bytes.Index(body, []byte("\n\n"))
		if i < 0 {
			return append(out, body)
		}
		out, body = append(out, body[:i+2]), body[i+2:]
	}
	return out
}

var (
	sseHeaders  = [][2]string{{"content-type", "text/event-stream"}}
	jsonHeaders = [][2]string{{"content-type", "application/json"}}
)

func chatCall(chunks [][]byte) exchange {
	return exchange{path: "/v1/chat/completions", authority: "llm.test", requestBody: `{"model":"gpt-4o-mini","stream":true}`, headers: sseHeaders, chunks: chunks}
}

func messagesCall(chunks [][]byte) exchange {
	return exchange{path: "/v1/messages", authority: "llm.test", requestBody: `{"model":"claude-sonnet-4","stream":true}`, headers: sseHeaders, chunks: chunks}
}

// checkUsage compares selected llm.usage fields.
func checkUsage(t *testing.T, o observed, want map[string]any) {
	t.Helper()
	if o.usage == nil {
		t.Fatal("no llm.usage filter state")
	}
	for k, v := range want {
		if o.usage[k] != v {
			t.Errorf("llm.usage %s = %#v, want %#v", k, o.usage[k], v)
		}
	}
}

func counter(t *testing.T, host proxytest.HostEmulator, name string) uint64 {
	t.Helper()
	v, err := host.GetCounterMetric(name)
	if err != nil {
		return 0
	}
	return v
}

// TestPrefetch checks when the held response headers are released: at the
// first meaningful event, at each bound, and never later than the timeout.
func TestPrefetch(t *testing.T) {
	keepalives := readFixture(t, "openrouter_keepalives_then_content.sse")
	pings := readFixture(t, "anthropic_six_pings.sse")
	cases := []struct {
		name           string
		config         string
		ex             exchange
		wantReleasedAt int
	}{
		{"comments do not end the prefetch", `{}`, chatCall(eventChunks(keepalives)), 2},
		{"pings count toward prefetch_max_events", `{"prefetch_max_events": 5}`, messagesCall(eventChunks(pings)), 4},
		{"prefetch_max_bytes", `{"prefetch_max_bytes": 40}`, chatCall(eventChunks(keepalives)), 1},
		{"prefetch_max_bytes 0 disables the hold", `{"prefetch_max_bytes": 0}`, chatCall(eventChunks(keepalives)), -1},
		{"timeout releases the stream on the tick", `{"prefetch_timeout_ms": 1}`,
			withHook(chatCall(eventChunks(keepalives)), tickAfter(0, 20*time.Millisecond)), 0},
		{"tick before the timeout keeps holding", `{"prefetch_timeout_ms": 60000}`,
			withHook(chatCall(eventChunks(keepalives)), tickAfter(0, 0)), 2},
		{"end of stream releases", `{"prefetch_max_events": 100}`, messagesCall(eventChunks(pings)), 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, c.config)
				o := run(t, host, c.ex)
				if o.releasedAt != c.wantReleasedAt {
					t.Errorf("headers released after chunk %d, want %d", o.releasedAt, c.wantReleasedAt)
				}
				if want := bytes.Join(c.ex.chunks, nil); !bytes.Equal(o.forwarded, want) {
					t.Errorf("forwarded %q\nwant %q", o.forwarded, want)
				}
			})
		})
	}
}

func withHook(ex exchange, hook func(proxytest.HostEmulator, int)) exchange {
	ex.afterChunk = hook
	return ex
}

// TestTimeoutReleaseMetersExactly checks that a stream released by the
// tick is still parsed exactly once: usage must not double.
func TestTimeoutReleaseMetersExactly(t *testing.T) {
	body := readFixture(t, "openrouter_keepalives_then_content.sse")
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		host := startHost(t, vm, `{"prefetch_timeout_ms": 1}`)
		o := run(t, host, withHook(chatCall(eventChunks(body)), tickAfter(1, 20*time.Millisecond)))
		checkUsage(t, o, map[string]any{"input_tokens": 12.0, "output_tokens": 3.0, "outcome": "completed", "provider": "openrouter"})
		if got := counter(t, host, metricPrefetchTimeout); got != 1 {
			t.Errorf("prefetch timeouts = %d, want 1", got)
		}
	})
}

func TestEmbeddedError(t *testing.T) {
	body := readFixture(t, "anthropic_overloaded_first.sse")
	cases := []struct {
		config      string
		wantLocal   bool
		wantOutcome string
	}{
		{`{}`, true, "embedded_error"},
		{`{"embedded_error_action": "record"}`, false, "stream_error"},
		{`{"routes": [{"name": "lenient", "embedded_error_action": "record"}]}`, false, "stream_error"},
	}
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, c.config)
				ex := messagesCall(eventChunks(body))
				ex.routeName = "lenient"
				o := run(t, host, ex)
				if c.wantLocal {
					if o.local == nil || o.local.StatusCode != 529 || o.released || len(o.forwarded) != 0 {
						t.Fatalf("want a 529 local reply and nothing forwarded; got %+v released=%v", o.local, o.released)
					}
					want := `{"error":{"type":"overloaded_error","message":"Overloaded","provider":"anthropic"}}`
					if string(o.local.Data) != want {
						t.Errorf("local reply body %s\nwant %s", o.local.Data, want)
					}
					if headerValue(o.local.Headers, "x-tokenmeter-embedded-error") != "overloaded_error" {
						t.Errorf("local reply headers %v", o.local.Headers)
					}
				} else if o.local != nil || !bytes.Equal(o.forwarded, body) {
					t.Fatalf("record mode must pass the stream: local %+v", o.local)
				}
				status := 200.0
				if c.wantLocal {
					status = 529
				}
				checkUsage(t, o, map[string]any{"outcome": c.wantOutcome, "error_type": "overloaded_error", "status": status})
			})
		})
	}
}

// TestEmbeddedErrorInUpstreamFilter checks the retry pattern: in a
// cluster's upstream filters (property upstream.address exists) the held
// response gets the mapped status instead of a local reply, which Envoy
// would not retry; role "guard" reports nothing, so nothing counts twice.
func TestEmbeddedErrorInUpstreamFilter(t *testing.T) {
	body := readFixture(t, "anthropic_overloaded_first.sse")
	cases := []struct {
		config    string
		wantUsage bool
	}{
		{`{}`, true},
		{`{"role": "guard"}`, false},
	}
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, c.config)
				if err := host.SetProperty([]string{"upstream", "address"}, []byte("127.0.0.1:9000")); err != nil {
					t.Fatal(err)
				}
				o := run(t, host, messagesCall(eventChunks(body)))
				if o.local != nil || !o.released || !bytes.Equal(o.forwarded, body) {
					t.Fatalf("want the held response released unchanged but for its status; local %+v", o.local)
				}
				if headerValue(o.headers, ":status") != "529" || headerValue(o.headers, "x-tokenmeter-embedded-error") != "overloaded_error" {
					t.Errorf("response headers %v", o.headers)
				}
				if c.wantUsage {
					checkUsage(t, o, map[string]any{"outcome": "embedded_error", "status": 529.0})
				} else if o.usage != nil || len(o.infoLogs) != 0 || counter(t, host, "tokenmeter.calls.provider.anthropic.model.unknown.outcome.embedded_error") != 0 {
					t.Errorf("guard reported: usage %v logs %q", o.usage, o.infoLogs)
				}
			})
		})
	}
}

func TestClientDisconnect(t *testing.T) {
	body := readFixture(t, "anthropic_stream_with_cache.sse")
	chunks := eventChunks(body)
	cases := []struct {
		name       string
		leaveAfter int
		want       map[string]any
	}{
		{"before completion keeps usage so far", 3, map[string]any{
			"outcome": "client_disconnected", "input_tokens": 2190.0, "cache_read_tokens": 2048.0, "cache_creation_tokens": 100.0, "output_tokens": 1.0}},
		{"after completion is completed", len(chunks), map[string]any{
			"outcome": "completed", "input_tokens": 2190.0, "output_tokens": 9.0, "total_tokens": 2199.0, "finish_reason": "end_turn"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, `{}`)
				ex := messagesCall(chunks)
				ex.leaveAfter = c.leaveAfter
				o := run(t, host, ex)
				checkUsage(t, o, c.want)
				if want := bytes.Join(chunks[:c.leaveAfter], nil); !bytes.Equal(o.forwarded, want) {
					t.Errorf("forwarded bytes differ")
				}
			})
		})
	}
}

func TestUpstreamErrorStatus(t *testing.T) {
	cases := []struct {
		name, path, fixture string
		status              int
		want                map[string]any
	}{
		{"openai 429", "/v1/chat/completions", "openai_rate_limited_429.json", 429,
			map[string]any{"outcome": "upstream_error", "status": 429.0, "error_type": "requests", "usage_reported": false}},
		{"anthropic 500", "/v1/messages", "anthropic_api_error_500.json", 500,
			map[string]any{"outcome": "upstream_error", "status": 500.0, "error_type": "api_error"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, `{}`)
				body := readFixture(t, c.fixture)
				o := run(t, host, exchange{path: c.path, authority: "llm.test", status: c.status, headers: jsonHeaders, chunks: [][]byte{body[:10], body[10:]}})
				if o.releasedAt != -1 || o.local != nil || !bytes.Equal(o.forwarded, body) {
					t.Fatalf("error responses must pass at once and unchanged (released at %d)", o.releasedAt)
				}
				checkUsage(t, o, c.want)
			})
		})
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompressedResponses checks gzip bodies are inflated for inspection
// only: the client gets the compressed bytes; other encodings pass unread.
func TestCompressedResponses(t *testing.T) {
	nonStream := gzipped(t, readFixture(t, "openai_chat_nonstream.json"))
	stream := gzipped(t, readFixture(t, "anthropic_stream_with_cache.sse"))
	cases := []struct {
		name     string
		ex       exchange
		body     []byte
		want     map[string]any
		counters map[string]uint64
	}{
		{"gzip json", exchange{path: "/v1/chat/completions", authority: "llm.test",
			headers: [][2]string{{"content-type", "application/json"}, {"content-encoding", "gzip"}}}, nonStream,
			map[string]any{"input_tokens": 31.0, "output_tokens": 4.0, "cache_read_tokens": 16.0, "outcome": "completed", "model": "gpt-4o-mini-2024-07-18"}, nil},
		{"gzip sse", exchange{path: "/v1/messages", authority: "llm.test",
			headers: [][2]string{{"content-type", "text/event-stream"}, {"content-encoding", "gzip"}}}, stream,
			map[string]any{"input_tokens": 2190.0, "output_tokens": 9.0, "outcome": "completed", "stream": true}, nil},
		{"brotli passes unread", exchange{path: "/v1/messages", authority: "llm.test",
			headers: [][2]string{{"content-type", "text/event-stream"}, {"content-encoding", "br"}}}, []byte("\x8b\x02\x80opaque"),
			map[string]any{"usage_reported": false, "outcome": "incomplete"}, map[string]uint64{metricNotInspectable: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, `{}`)
				for cut, chunks := range cuttings(c.body) {
					c.ex.chunks = chunks
					o := run(t, host, c.ex)
					if !bytes.Equal(o.forwarded, c.body) {
						t.Fatalf("%s: forwarded bytes differ from the compressed upstream bytes", cut)
					}
					checkUsage(t, o, c.want)
				}
				for name, want := range c.counters {
					if got := counter(t, host, name); got != want*4 {
						t.Errorf("%s = %d, want %d", name, got, want*4)
					}
				}
			})
		})
	}
}

// TestNotMetered checks that traffic which is not an LLM call, or a route
// with the filter switched off, is left entirely alone.
func TestNotMetered(t *testing.T) {
	body := readFixture(t, "openrouter_keepalives_then_content.sse")
	cases := []struct {
		name   string
		config string
		ex     exchange
	}{
		{"health check", `{}`, exchange{method: "GET", path: "/healthz", headers: [][2]string{{"content-type", "text/plain"}}, chunks: [][]byte{[]byte("ok")}}},
		{"embeddings", `{}`, exchange{path: "/v1/embeddings", headers: jsonHeaders, chunks: [][]byte{[]byte(`{"object":"list","data":[]}`)}}},
		{"route switched off by name", `{"routes": [{"name": "internal", "enabled": false}]}`,
			exchange{path: "/v1/chat/completions", routeName: "internal", headers: sseHeaders, chunks: eventChunks(body)}},
		{"globally disabled", `{"enabled": false}`, chatCall(eventChunks(body))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, c.config)
				o := run(t, host, c.ex)
				if o.releasedAt != -1 || !bytes.Equal(o.forwarded, bytes.Join(c.ex.chunks, nil)) {
					t.Errorf("not passed at once and unchanged (released at %d)", o.releasedAt)
				}
				if o.usage != nil || len(o.infoLogs) != 0 {
					t.Errorf("unmetered call left state %v / logs %v", o.usage, o.infoLogs)
				}
				if got := counter(t, host, metricSkipped); got != 1 {
					t.Errorf("skipped = %d, want 1", got)
				}
			})
		})
	}
}

// TestRouteForcesAPI checks a routes entry can meter a path the detector
// does not know by forcing its API.
func TestRouteForcesAPI(t *testing.T) {
	body := readFixture(t, "anthropic_stream_with_cache.sse")
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		host := startHost(t, vm, `{"routes": [{"path_prefix": "/internal/claude", "api": "anthropic_messages"}]}`)
		o := run(t, host, exchange{path: "/internal/claude/generate", headers: sseHeaders, chunks: eventChunks(body)})
		checkUsage(t, o, map[string]any{"api": "anthropic_messages", "input_tokens": 2190.0, "outcome": "completed"})
	})
}

// TestBadInputIsCountedNotFatal covers an oversize event, invalid UTF-8
// and a malformed event: the stream passes byte for byte, the rest of the
// stream is still metered, and the problem is counted.
func TestBadInputIsCountedNotFatal(t *testing.T) {
	cases := []struct {
		fixture, config string
		want            map[string]any
		counter         string
	}{
		{"openai_chat_oversize_event.sse", `{"max_event_bytes": 1024}`,
			map[string]any{"input_tokens": 20.0, "output_tokens": 1300.0, "outcome": "completed"}, metricOversizeEvents},
		{"openai_chat_invalid_utf8.sse", `{}`,
			map[string]any{"input_tokens": 7.0, "output_tokens": 2.0, "outcome": "completed"}, ""},
		{"openai_chat_malformed_event.sse", `{}`,
			map[string]any{"input_tokens": 5.0, "output_tokens": 1.0, "outcome": "completed"}, metricParseErrors},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				body := readFixture(t, c.fixture)
				for cut, chunks := range cuttings(body) {
					t.Run(cut, func(t *testing.T) {
						host := startHost(t, vm, c.config)
						o := run(t, host, chatCall(chunks))
						if !bytes.Equal(o.forwarded, body) {
							t.Fatal("forwarded bytes differ")
						}
						checkUsage(t, o, c.want)
						if c.counter != "" && counter(t, host, c.counter) != 1 {
							t.Errorf("%s = %d, want 1", c.counter, counter(t, host, c.counter))
						}
					})
				}
			})
		})
	}
}

// TestMetricsAndLog checks the metric names and the one JSON log line.
func TestMetricsAndLog(t *testing.T) {
	body := readFixture(t, "anthropic_stream_with_cache.sse")
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		host := startHost(t, vm, `{"max_models": 1}`)
		o := run(t, host, messagesCall(eventChunks(body)))
		labels := ".provider.anthropic.model.claude-sonnet-4-20250514"
		for name, want := range map[string]uint64{
			"tokenmeter.tokens" + labels + ".type.input":          2190,
			"tokenmeter.tokens" + labels + ".type.output":         9,
			"tokenmeter.tokens" + labels + ".type.cache_read":     2048,
			"tokenmeter.tokens" + labels + ".type.cache_creation": 100,
			"tokenmeter.calls" + labels + ".outcome.completed":    1,
		} {
			if got := counter(t, host, name); got != want {
				t.Errorf("%s = %d, want %d", name, got, want)
			}
		}
		if _, err := host.GetHistogramMetric("tokenmeter.duration_ms" + labels); err != nil {
			t.Errorf("duration histogram: %v", err)
		}
		if len(o.infoLogs) != 1 || !strings.HasPrefix(o.infoLogs[0], `{"msg":"tokenmeter","request_id":"req-1","provider":"anthropic",`) {
			t.Errorf("log lines %q", o.infoLogs)
		}
		if v, err := host.GetProperty([]string{"llm.input_tokens"}); err != nil || string(v) != "2190" {
			t.Errorf("llm.input_tokens = %q, %v", v, err)
		}
		// A second model is over max_models: it is labelled "other".
		run(t, host, messagesCall(eventChunks(bytes.ReplaceAll(body, []byte("claude-sonnet-4-20250514"), []byte("claude-haiku")))))
		if got := counter(t, host, "tokenmeter.calls.provider.anthropic.model.other.outcome.completed"); got != 1 {
			t.Errorf("other-model calls = %d, want 1", got)
		}
	})
}

func TestLogOff(t *testing.T) {
	body := readFixture(t, "anthropic_stream_with_cache.sse")
	eachVM(t, func(t *testing.T, vm types.VMContext) {
		host := startHost(t, vm, `{"log": "off"}`)
		if o := run(t, host, messagesCall(eventChunks(body))); len(o.infoLogs) != 0 || o.usage == nil {
			t.Errorf("log off: logs %q, usage %v", o.infoLogs, o.usage)
		}
	})
}

// panickyVM lets a native test break the plugin from outside to prove
// that a panic in a callback costs metering, never traffic.
type panickyVM struct {
	vmContext
	plugin *pluginContext
}

func (v *panickyVM) NewPluginContext(id uint32) types.PluginContext {
	v.plugin = v.vmContext.NewPluginContext(id).(*pluginContext)
	return v.plugin
}

func TestPanicFailsOpen(t *testing.T) {
	body := readFixture(t, "anthropic_stream_with_cache.sse")
	vm := &panickyVM{}
	host := startHost(t, vm, `{}`)
	vm.plugin.held = nil // holding the response headers now panics
	ex := messagesCall(eventChunks(body))
	o := run(t, host, ex)
	if o.releasedAt != -1 || !bytes.Equal(o.forwarded, body) || o.local != nil {
		t.Fatalf("a panic changed the traffic (released at %d)", o.releasedAt)
	}
	if got := counter(t, host, metricRecoveredPanics); got != 1 {
		t.Errorf("recovered panics = %d, want 1", got)
	}
	if o.usage != nil {
		t.Errorf("a broken call still reported usage %v", o.usage)
	}
	if len(host.GetErrorLogs()) != 1 {
		t.Errorf("error logs %q", host.GetErrorLogs())
	}
}

// TestLargeNonStreamBody checks a non-stream answer larger than the
// prefetch: it is released once it outgrows prefetch_max_bytes (holding
// more would hit Envoy's buffer limit) and still metered from the copy,
// up to max_body_bytes.
func TestLargeNonStreamBody(t *testing.T) {
	small := readFixture(t, "openai_chat_nonstream.json")
	big := bytes.Replace(small, []byte("Hello there"), bytes.Repeat([]byte("lorem ipsum "), 20000), 1)
	chunks := [][]byte{big[:30000], big[30000:90000], big[90000:]}
	cases := []struct {
		config         string
		wantReleasedAt int
		want           map[string]any
		tooLarge       uint64
	}{
		{`{}`, 1, map[string]any{"input_tokens": 31.0, "output_tokens": 4.0, "outcome": "completed"}, 0},
		{`{"max_body_bytes": 100000}`, 1, map[string]any{"usage_reported": false, "outcome": "incomplete"}, 1},
		{`{"prefetch_max_bytes": 0}`, -1, map[string]any{"input_tokens": 31.0, "outcome": "completed"}, 0},
	}
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			eachVM(t, func(t *testing.T, vm types.VMContext) {
				host := startHost(t, vm, c.config)
				o := run(t, host, exchange{path: "/v1/chat/completions", headers: jsonHeaders, chunks: chunks})
				if o.releasedAt != c.wantReleasedAt || !bytes.Equal(o.forwarded, big) {
					t.Fatalf("released after chunk %d (want %d); forwarded %d of %d bytes", o.releasedAt, c.wantReleasedAt, len(o.forwarded), len(big))
				}
				checkUsage(t, o, c.want)
				if got := counter(t, host, metricBodyTooLarge); got != c.tooLarge {
					t.Errorf("body_too_large = %d, want %d", got, c.tooLarge)
				}
			})
		})
	}
}
