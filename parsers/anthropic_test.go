package parsers

import (
	"reflect"
	"strings"
	"testing"
)

func TestAnthropicFixtures(t *testing.T) {
	runFixtures(t, APIAnthropicMessages, "anthropic")
}

// anthropicEvent is one SSE event as the framer hands it over.
type anthropicEvent struct{ name, data string }

func feedAnthropic(p Parser, events []anthropicEvent) Kind {
	k := KindIgnored
	for _, e := range events {
		k = p.Message([]byte(e.name), []byte(e.data))
	}
	return k
}

const (
	antStart = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1}}}`
	antDelta = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`
	antStop  = `{"type":"message_stop"}`
)

func TestAnthropicMessageKinds(t *testing.T) {
	cases := []struct {
		name, data string
		want       Kind
	}{
		{"ping", `{"type": "ping"}`, KindIgnored},
		{"", "", KindIgnored},
		{"", " \r\n", KindIgnored},
		{"content_block_delta", antDelta, KindMeaningful},
		{"content_block_delta", `  {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}   `, KindMeaningful},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, KindMeaningful},
		{"message_start", antStart, KindMeaningful},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`, KindMeaningful},
		{"message_stop", antStop, KindMeaningful},
		{"", `{"type":"message_stop"}`, KindMeaningful},                // the JSON type decides
		{"message_stop", `{}`, KindMeaningful},                         // the event name stands in for a missing type
		{"error", `{"error":{"type":"overloaded_error"}}`, KindError},  // likewise
		{"future_event", `{"type":"future_event","x":1}`, KindIgnored}, // new event types are not errors
		{"content_block_delta", antDelta[:40], KindMalformed},          // cut mid-event
		{"message_delta", `{"type":"message_delta","usage":{`, KindMalformed},
		{"", "not json", KindMalformed},
		{"", `[1,2]`, KindMalformed},
		{"", `"message_stop"`, KindMalformed},
		{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, KindError},
	}
	for _, c := range cases {
		if got := newAnthropic().Message([]byte(c.name), []byte(c.data)); got != c.want {
			t.Errorf("Message(%q, %q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
}

func TestAnthropicUsageMerge(t *testing.T) {
	cases := []struct {
		name   string
		events []anthropicEvent
		want   Usage // Raw and Reported are not compared here
	}{
		{
			name:   "delta overrides the placeholder output, never adds",
			events: []anthropicEvent{{"message_start", antStart}, {"message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":9}}`}},
			want:   Usage{InputTokens: 2090, OutputTokens: 9, CacheReadTokens: 2048, TotalTokens: 2099},
		},
		{
			name:   "interrupted after message_start keeps the placeholder",
			events: []anthropicEvent{{"message_start", antStart}, {"content_block_delta", antDelta}},
			want:   Usage{InputTokens: 2090, OutputTokens: 1, CacheReadTokens: 2048, TotalTokens: 2091},
		},
		{
			name: "delta input grows with server tools",
			events: []anthropicEvent{{"message_start", antStart},
				{"message_delta", `{"type":"message_delta","delta":{},"usage":{"input_tokens":900,"cache_read_input_tokens":2048,"output_tokens":50}}`}},
			want: Usage{InputTokens: 2948, OutputTokens: 50, CacheReadTokens: 2048, TotalTokens: 2998},
		},
		{
			name: "a zero in the delta does not erase",
			events: []anthropicEvent{{"message_start", antStart},
				{"message_delta", `{"type":"message_delta","delta":{},"usage":{"input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7}}`}},
			want: Usage{InputTokens: 2090, OutputTokens: 7, CacheReadTokens: 2048, TotalTokens: 2097},
		},
		{
			name: "null and non-object usage change nothing",
			events: []anthropicEvent{{"message_start", antStart},
				{"message_delta", `{"type":"message_delta","delta":{},"usage":null}`},
				{"message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":null,"input_tokens":"12"}}`}},
			want: Usage{InputTokens: 2090, OutputTokens: 1, CacheReadTokens: 2048, TotalTokens: 2091},
		},
		{
			name: "cache write and thinking",
			events: []anthropicEvent{{"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":5,"cache_creation_input_tokens":300,"output_tokens":1}}}`},
				{"message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":80,"output_tokens_details":{"thinking_tokens":60}}}`}},
			want: Usage{InputTokens: 305, OutputTokens: 80, CacheCreationTokens: 300, ReasoningTokens: 60, TotalTokens: 385},
		},
	}
	for _, c := range cases {
		p := newAnthropic()
		feedAnthropic(p, c.events)
		checkCounts(t, c.name, p.Result().Usage, c.want)
	}
}

func TestAnthropicRaw(t *testing.T) {
	p := newAnthropic()
	feedAnthropic(p, []anthropicEvent{{"message_start", antStart},
		{"message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":9,"server_tool_use":{"web_search_requests":2}}}`}})
	want := []RawCount{
		{"input_tokens", 42}, {"cache_read_input_tokens", 2048}, {"cache_creation_input_tokens", 0},
		{"output_tokens", 9},
		{"cache_creation.ephemeral_5m_input_tokens", 0}, {"cache_creation.ephemeral_1h_input_tokens", 0},
		{"server_tool_use.web_search_requests", 2},
	}
	if got := p.Result().Usage.Raw; !reflect.DeepEqual(got, want) {
		t.Fatalf("Raw:\n got %v\nwant %v", got, want)
	}
}

// A broken event must leave the record exactly as it was.
func TestAnthropicMalformedChangesNothing(t *testing.T) {
	p := newAnthropic()
	feedAnthropic(p, []anthropicEvent{{"message_start", antStart}})
	before := *p.Result()
	before.Usage.Raw = append([]RawCount(nil), before.Usage.Raw...)
	for _, data := range []string{
		`{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":999`,
		`{"type":"message_stop"`,
		`{"type":"error","error":{"type":"api_error"}`,
	} {
		if k := p.Message(nil, []byte(data)); k != KindMalformed {
			t.Errorf("%s: kind %v", data, k)
		}
	}
	if !reflect.DeepEqual(*p.Result(), before) {
		t.Fatalf("result changed:\n got %+v\nwant %+v", *p.Result(), before)
	}
}

func TestAnthropicErrors(t *testing.T) {
	cases := []struct {
		errType    string
		wantType   string
		wantStatus int
	}{
		{"overloaded_error", "overloaded_error", 529},
		{"rate_limit_error", "rate_limit_error", 429},
		{"api_error", "api_error", 500},
		{"invalid_request_error", "invalid_request_error", 400},
		{"authentication_error", "authentication_error", 401},
		{"permission_error", "permission_error", 403},
		{"not_found_error", "not_found_error", 404},
		{"request_too_large", "request_too_large", 413},
		{"billing_error", "billing_error", 402},
		{"timeout_error", "timeout_error", 504},
		{"", "error", 502},
	}
	for _, c := range cases {
		data := `{"type":"error","error":{"type":"` + c.errType + `","message":"m"}}`
		for _, api := range []string{"stream", "body"} {
			p := newAnthropic()
			var k Kind
			if api == "stream" {
				k = p.Message([]byte("error"), []byte(data))
			} else {
				k = p.Body([]byte(data))
			}
			e := p.Result().Err
			if k != KindError || e.Type != c.wantType || e.Status != c.wantStatus || e.Message != "m" || p.Result().Completed {
				t.Errorf("%s %q: kind %v, err %+v", api, c.errType, k, e)
			}
		}
	}
}

func TestAnthropicFirstErrorKeptAndTruncated(t *testing.T) {
	p := newAnthropic()
	long := strings.Repeat("x", 3*MaxErrorMessage)
	feedAnthropic(p, []anthropicEvent{
		{"error", `{"type":"error","error":{"type":"overloaded_error","message":"` + long + `"}}`},
		{"error", `{"type":"error","error":{"type":"api_error","message":"later"}}`},
	})
	e := p.Result().Err
	if e.Type != "overloaded_error" || e.Status != 529 || e.Message != long[:MaxErrorMessage] {
		t.Fatalf("got type %q status %d message len %d", e.Type, e.Status, len(e.Message))
	}
}

func TestAnthropicModelAndStopReason(t *testing.T) {
	p := newAnthropic()
	feedAnthropic(p, []anthropicEvent{
		{"message_start", `{"type":"message_start","message":{"model":"","usage":{}}}`},
		{"message_start", antStart},
		{"message_start", `{"type":"message_start","message":{"model":"other"}}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"}}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":null}}`},
	})
	r := p.Result()
	if r.Model != "claude-sonnet-4-20250514" || r.FinishReason != "tool_use" || r.Completed {
		t.Fatalf("got model %q finish %q completed %v", r.Model, r.FinishReason, r.Completed)
	}
	p.Message([]byte("message_stop"), []byte(antStop))
	if !r.Completed {
		t.Fatal("message_stop did not complete")
	}
}

func TestAnthropicBody(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		kind      Kind
		completed bool
		input     uint64
	}{
		{"message", "\n\n" + `{"type":"message","model":"m","stop_reason":"end_turn","usage":{"input_tokens":3,"cache_read_input_tokens":4,"output_tokens":5}}`, KindMeaningful, true, 7},
		{"error without type", `{"error":{"type":"rate_limit_error","message":"slow down"}}`, KindError, false, 0},
		{"error null on a message", `{"type":"message","error":null,"usage":{"input_tokens":1,"output_tokens":1}}`, KindMeaningful, true, 1},
		{"unknown object", `{"type":"completion"}`, KindIgnored, false, 0},
		{"empty", "  ", KindIgnored, false, 0},
		{"html error page", "<html><body>502 Bad Gateway</body></html>", KindMalformed, false, 0},
		{"truncated", `{"type":"message","usage":{"input_tokens":3`, KindMalformed, false, 0},
	}
	for _, c := range cases {
		p := newAnthropic()
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Usage.InputTokens != c.input {
			t.Errorf("%s: kind %v completed %v input %d", c.name, k, r.Completed, r.Usage.InputTokens)
		}
	}
}

func TestAnthropicReset(t *testing.T) {
	p := New(APIAnthropicMessages)
	feedAnthropic(p, []anthropicEvent{{"message_start", antStart}, {"error", `{"type":"error","error":{"type":"api_error"}}`}, {"message_stop", antStop}})
	raw := p.Result().Usage.Raw
	p.Reset()
	r := p.Result()
	if !reflect.DeepEqual(*r, Result{Usage: Usage{Raw: raw[:0]}}) {
		t.Fatalf("after Reset: %+v", *r)
	}
	// The uncached input of the previous response must not leak into this one.
	feedAnthropic(p, []anthropicEvent{{"message_start", `{"type":"message_start","message":{"model":"m","usage":{"cache_read_input_tokens":10,"output_tokens":1}}}`}})
	if r.Usage.InputTokens != 10 || r.Model != "m" {
		t.Fatalf("second response: %+v", *r)
	}
}

func TestAnthropicContentEventsDoNotAllocate(t *testing.T) {
	p := newAnthropic()
	feedAnthropic(p, []anthropicEvent{{"message_start", antStart}})
	delta, ping := []byte(antDelta), []byte(`{"type": "ping"}`)
	name := []byte("content_block_delta")
	allocs := testing.AllocsPerRun(100, func() {
		p.Message(name, delta)
		p.Message(nil, ping)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per content event", allocs)
	}
}

func FuzzAnthropicMessage(f *testing.F) {
	for _, s := range []string{antStart, antDelta, antStop, `{"type": "ping"}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":1,"output_tokens":9,"output_tokens_details":{"thinking_tokens":3}}}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		`{"type":"message","model":"m","usage":{"input_tokens":1}}`} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, name, data string) {
		p := newAnthropic()
		p.Message([]byte("message_start"), []byte(antStart))
		checkStepInvariants(t, p, func() Kind { return p.Message([]byte(name), []byte(data)) })
		q := newAnthropic()
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
	})
}

// checkStepInvariants runs step and checks what must hold whatever the
// input: a malformed message changes nothing, totals add up, an error is
// reported as KindError and its message is bounded.
func checkStepInvariants(t *testing.T, p Parser, step func() Kind) {
	t.Helper()
	before := *p.Result()
	before.Usage.Raw = append([]RawCount(nil), before.Usage.Raw...)
	k := step()
	r := p.Result()
	if k == KindMalformed && !reflect.DeepEqual(*r, before) {
		t.Fatalf("malformed message changed the result:\n got %+v\nwant %+v", *r, before)
	}
	u := r.Usage
	if u.TotalTokens != u.InputTokens+u.OutputTokens {
		t.Fatalf("total %d != %d + %d", u.TotalTokens, u.InputTokens, u.OutputTokens)
	}
	if k == KindError && r.Err.Type == "" {
		t.Fatal("KindError without a recorded error")
	}
	if before.Err.Type == "" && r.Err.Type != "" && k != KindError {
		t.Fatalf("error %+v recorded under kind %v", r.Err, k)
	}
	if len(r.Err.Message) > MaxErrorMessage || len(r.Err.Type) > MaxErrorMessage {
		t.Fatalf("unbounded error %+v", r.Err)
	}
}

// BenchmarkAnthropicStream replays a realistic ~300-event stream (mostly
// text deltas, with pings) through one reused parser, the plugin's steady
// state. Compare runs with benchstat:
//
//	go test -run '^$' -bench AnthropicStream -count 10 ./parsers > new.txt
func BenchmarkAnthropicStream(b *testing.B) {
	events := []anthropicEvent{{"message_start", antStart},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`}}
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	for i := range 300 {
		if i%50 == 25 {
			events = append(events, anthropicEvent{"ping", `{"type": "ping"}`})
		}
		events = append(events, anthropicEvent{"content_block_delta",
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" ` + words[i%len(words)] + `, and"}}`})
	}
	events = append(events,
		anthropicEvent{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		anthropicEvent{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":612}}`},
		anthropicEvent{"message_stop", antStop})
	benchmarkStream(b, New(APIAnthropicMessages), events)
}

// benchmarkStream feeds pre-split events to p once per iteration, resetting
// it in between, and reports throughput over the event data.
func benchmarkStream(b *testing.B, p Parser, events []anthropicEvent) {
	names, data := make([][]byte, len(events)), make([][]byte, len(events))
	for i, e := range events {
		names[i], data[i] = []byte(e.name), []byte(e.data)
	}
	benchmarkMessages(b, p, names, data)
	if !p.Result().Completed {
		b.Fatal("stream did not complete")
	}
}
