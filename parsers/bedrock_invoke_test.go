package parsers

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func TestBedrockInvokeFixtures(t *testing.T) {
	runFixtures(t, APIBedrockInvoke, "bedrock_invoke")
}

// invokeChunk wraps a model event the way InvokeModelWithResponseStream
// sends it.
func invokeChunk(event string) string {
	return `{"bytes":"` + base64.StdEncoding.EncodeToString([]byte(event)) + `","p":"abcdefgh"}`
}

const invokeStop = `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":42,"outputTokenCount":9,"invocationLatency":900,"firstByteLatency":300,"cacheReadInputTokenCount":2048,"cacheWriteInputTokenCount":0}}`

func TestBedrockInvokeMessageKinds(t *testing.T) {
	cases := []struct {
		name, data string
		want       Kind
	}{
		{"chunk", invokeChunk(antStart), KindMeaningful},
		{"chunk", invokeChunk(antDelta), KindMeaningful},
		{"chunk", invokeChunk(`{"type": "ping"}`), KindIgnored},
		{"chunk", invokeChunk(invokeStop), KindMeaningful},
		{"chunk", invokeChunk(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), KindError},
		{"chunk", invokeChunk(`{"generation":"Hi","stop_reason":null}`), KindIgnored}, // another model family
		{"chunk", invokeChunk(antDelta[:40]), KindMalformed},
		{"chunk", `{"p":"abc","bytes":"` + base64.StdEncoding.EncodeToString([]byte(antStop)) + `"}`, KindMeaningful},
		{"chunk", `{"bytes":"\u0065\u00330="}`, KindIgnored}, // escaped base64 of "{}", read by gjson
		{"chunk", `{"bytes":""}`, KindIgnored},
		{"chunk", `{"bytes":"not base64!"}`, KindMalformed},
		{"chunk", `{"bytes":"eyJ0eXBl`, KindMalformed},
		{"chunk", `{"bytes":42}`, KindIgnored},
		{"chunk", `{"p":"abc"}`, KindIgnored},
		{"chunk", "", KindIgnored},
		{"chunk", "not json", KindMalformed},
		{"otherEvent", invokeChunk(antStart), KindIgnored},
		{"", invokeChunk(antStart), KindIgnored},
	}
	for _, c := range cases {
		if got := New(APIBedrockInvoke).Message([]byte(c.name), []byte(c.data)); got != c.want {
			t.Errorf("Message(%q, %.60q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
}

func TestBedrockInvokeMetrics(t *testing.T) {
	p := New(APIBedrockInvoke)
	for _, ev := range []string{antStart, antDelta,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":8}}`, invokeStop} {
		p.Message([]byte("chunk"), []byte(invokeChunk(ev)))
	}
	r := p.Result()
	// The metrics' outputTokenCount (9) wins over message_delta's 8.
	want := Usage{InputTokens: 2090, OutputTokens: 9, CacheReadTokens: 2048, TotalTokens: 2099, Reported: true}
	got := r.Usage
	got.Raw = nil
	if !reflect.DeepEqual(got, want) || !r.Completed || r.FinishReason != "end_turn" || r.Model != "claude-sonnet-4-20250514" {
		t.Fatalf("got %+v", r)
	}
	for _, name := range []string{"input_tokens", "output_tokens", "inputTokenCount", "outputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"} {
		if !hasRaw(r.Usage.Raw, name) {
			t.Errorf("Raw lacks %s: %v", name, r.Usage.Raw)
		}
	}
	// Metrics that are not an object, or inside a broken event, change nothing.
	before := *r
	before.Usage.Raw = append([]RawCount(nil), r.Usage.Raw...)
	p.Message([]byte("chunk"), []byte(invokeChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":null}`)))
	p.Message([]byte("chunk"), []byte(invokeChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":1}`)))
	if !reflect.DeepEqual(*r, before) {
		t.Fatalf("changed:\n got %+v\nwant %+v", *r, before)
	}
}

func hasRaw(raw []RawCount, name string) bool {
	for _, c := range raw {
		if c.Name == name {
			return true
		}
	}
	return false
}

func TestBedrockInvokeBody(t *testing.T) {
	cases := []struct {
		name, body string
		kind       Kind
		completed  bool
		errType    string
		errStatus  int
	}{
		{"claude message", `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":5}}`, KindMeaningful, true, "", 0},
		{"bedrock error", `{"message":"Malformed input request"}`, KindError, false, "error", 502},
		{"anthropic error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, KindError, false, "overloaded_error", 529},
		{"other model family", `{"generation":"Hi","prompt_token_count":9,"generation_token_count":1,"stop_reason":"stop"}`, KindIgnored, false, "", 0},
		{"truncated", `{"type":"message","usage":{`, KindMalformed, false, "", 0},
	}
	for _, c := range cases {
		p := New(APIBedrockInvoke)
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Err.Type != c.errType || r.Err.Status != c.errStatus {
			t.Errorf("%s: kind %v, result %+v", c.name, k, r)
		}
	}
}

func TestBedrockInvokeReset(t *testing.T) {
	p := New(APIBedrockInvoke)
	p.Message([]byte("chunk"), []byte(invokeChunk(antStart)))
	p.Message([]byte("chunk"), []byte(invokeChunk(invokeStop)))
	p.Reset()
	if r := p.Result(); r.Usage.InputTokens != 0 || r.Completed || r.Model != "" {
		t.Fatalf("after Reset: %+v", r)
	}
	p.Message([]byte("chunk"), []byte(invokeChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"cacheReadInputTokenCount":10}}`)))
	if u := p.Result().Usage; u.InputTokens != 10 {
		t.Fatalf("uncached input leaked across Reset: %+v", u)
	}
}

func TestBedrockInvokeContentEventsDoNotAllocate(t *testing.T) {
	p := New(APIBedrockInvoke)
	name := []byte("chunk")
	p.Message(name, []byte(invokeChunk(antStart)))
	delta, ping := []byte(invokeChunk(antDelta)), []byte(invokeChunk(`{"type": "ping"}`))
	if n := testing.AllocsPerRun(100, func() {
		p.Message(name, delta)
		p.Message(name, ping)
	}); n != 0 {
		t.Fatalf("%v allocations per content event", n)
	}
}

// BenchmarkBedrockInvokeStream replays an InvokeModelWithResponseStream of
// Claude events, base64 and all (framing excluded).
func BenchmarkBedrockInvokeStream(b *testing.B) {
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	evs := []anthropicEvent{{"chunk", invokeChunk(antStart)},
		{"chunk", invokeChunk(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)}}
	for i := range 300 {
		evs = append(evs, anthropicEvent{"chunk", invokeChunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" ` + words[i%len(words)] + `, and"}}`)})
	}
	evs = append(evs, anthropicEvent{"chunk", invokeChunk(`{"type":"content_block_stop","index":0}`)},
		anthropicEvent{"chunk", invokeChunk(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":612}}`)},
		anthropicEvent{"chunk", invokeChunk(invokeStop)})
	benchmarkStream(b, New(APIBedrockInvoke), evs)
}

func FuzzBedrockInvokeMessage(f *testing.F) {
	for _, m := range fixtureMessages(f, "bedrock_invoke") {
		f.Add(string(m.msgType), string(m.name), string(m.data), false)
	}
	f.Add("", "chunk", invokeStop, true)
	f.Add("", "chunk", `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":-1,"outputTokenCount":1e40}}`, true)
	// wrap: data is a model event to be base64-wrapped, so that the fuzzer
	// reaches the Anthropic parser behind the decoding.
	f.Fuzz(func(t *testing.T, msgType, name, data string, wrap bool) {
		if wrap {
			data = invokeChunk(data)
		}
		p := New(APIBedrockInvoke)
		p.Message([]byte("chunk"), []byte(invokeChunk(antStart)))
		checkStepInvariants(t, p, func() Kind { return Dispatch(p, []byte(msgType), []byte(name), []byte(data)) })
		q := New(APIBedrockInvoke)
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
	})
}
