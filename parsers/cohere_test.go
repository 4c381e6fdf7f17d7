package parsers

import (
	"reflect"
	"strings"
	"testing"
)

func TestCohereFixtures(t *testing.T) { runFixtures(t, APICohere, "cohere") }

const (
	cohereStart = `{"id":"2d3c0a4e-7b1f-4a55-9d8e-0f1e2d3c4b5a","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`
	cohereDelta = `{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hello"}}}}`
	cohereEnd   = `{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":21,"output_tokens":7,"search_units":1},"tokens":{"input_tokens":186,"output_tokens":7}}}}`
)

func TestCohereMessageKinds(t *testing.T) {
	cases := []struct {
		name, data string
		want       Kind
	}{
		{"message-start", cohereStart, KindMeaningful},
		{"content-delta", cohereDelta, KindMeaningful},
		{"content-delta", ` {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "x"}}}} `, KindMeaningful},
		{"tool-call-delta", `{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\""}}}}}`, KindMeaningful},
		{"citation-start", `{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":5,"text":"Hello"}}}}`, KindMeaningful},
		{"message-end", cohereEnd, KindMeaningful},
		{"message-end", `{"type":"message-end","delta":{"finish_reason":"ERROR","error":"boom"}}`, KindError},
		{"message-end", `{"type":"message-end","delta":{"finish_reason":"TIMEOUT"}}`, KindError},
		{"message-end", `{}`, KindMeaningful}, // the event name stands in for a missing type
		{"debug", `{"type":"debug","event":{}}`, KindIgnored},
		{"future-event", `{"type":"future-event"}`, KindIgnored},
		{"", "[DONE]", KindIgnored},
		{"", "", KindIgnored},
		{"content-delta", cohereDelta[:40], KindMalformed},
		{"message-end", cohereEnd[:60], KindMalformed},
		{"", "not json", KindMalformed},
	}
	for _, c := range cases {
		if got := New(APICohere).Message([]byte(c.name), []byte(c.data)); got != c.want {
			t.Errorf("Message(%q, %.50q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
}

func TestCohereBilledUnitsAndRaw(t *testing.T) {
	p := New(APICohere)
	for _, d := range []string{cohereStart, cohereDelta, cohereEnd} {
		p.Message(nil, []byte(d))
	}
	r := p.Result()
	wantRaw := []RawCount{{"billed_units.input_tokens", 21}, {"billed_units.output_tokens", 7},
		{"tokens.input_tokens", 186}, {"tokens.output_tokens", 7}, {"billed_units.search_units", 1}}
	u := r.Usage
	if u.InputTokens != 21 || u.OutputTokens != 7 || u.TotalTokens != 28 || !reflect.DeepEqual(u.Raw, wantRaw) ||
		!r.Completed || r.FinishReason != "COMPLETE" || r.Model != "" {
		t.Fatalf("got %+v", r)
	}
}

func TestCohereFailures(t *testing.T) {
	for _, c := range []struct {
		reason, msg string
		status      int
	}{{"ERROR", "internal error", 502}, {"TIMEOUT", "", 504}} {
		p := New(APICohere)
		p.Message(nil, []byte(cohereStart))
		k := p.Message(nil, []byte(`{"type":"message-end","delta":{"finish_reason":"`+c.reason+`","error":"`+c.msg+`"}}`))
		r := p.Result()
		if k != KindError || r.Err.Type != c.reason || r.Err.Message != c.msg || r.Err.Status != c.status ||
			!r.Completed || r.FinishReason != c.reason {
			t.Errorf("%s: kind %v, result %+v", c.reason, k, r)
		}
	}
}

func TestCohereBody(t *testing.T) {
	cases := []struct {
		name, body string
		kind       Kind
		completed  bool
		errType    string
		input      uint64
	}{
		{"answer", `{"id":"x","message":{"role":"assistant","content":[]},"finish_reason":"MAX_TOKENS","usage":{"billed_units":{"input_tokens":9,"output_tokens":11}}}`, KindMeaningful, true, "", 9},
		{"failed answer", `{"id":"x","message":{"role":"assistant","content":[]},"finish_reason":"ERROR","usage":{"billed_units":{"input_tokens":9}}}`, KindError, false, "ERROR", 9},
		{"http error", `{"id":"x","message":"invalid request: message must be at least 1 token long"}`, KindError, false, "error", 0},
		{"no finish reason", `{"id":"x"}`, KindIgnored, false, "", 0},
		{"empty", " ", KindIgnored, false, "", 0},
		{"truncated", `{"id":"x","finish_reason":"COMPLETE"`, KindMalformed, false, "", 0},
	}
	for _, c := range cases {
		p := New(APICohere)
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Err.Type != c.errType || r.Usage.InputTokens != c.input {
			t.Errorf("%s: kind %v, result %+v", c.name, k, r)
		}
	}
}

func TestCohereReset(t *testing.T) {
	p := New(APICohere)
	p.Message(nil, []byte(`{"type":"message-end","delta":{"finish_reason":"ERROR","usage":{"billed_units":{"input_tokens":9}}}}`))
	raw := p.Result().Usage.Raw
	p.Reset()
	if r := p.Result(); !reflect.DeepEqual(*r, Result{Usage: Usage{Raw: raw[:0]}}) {
		t.Fatalf("after Reset: %+v", *r)
	}
}

func TestCohereContentEventsDoNotAllocate(t *testing.T) {
	p := New(APICohere)
	name, delta := []byte("content-delta"), []byte(cohereDelta)
	p.Message([]byte("message-start"), []byte(cohereStart))
	if n := testing.AllocsPerRun(100, func() { p.Message(name, delta) }); n != 0 {
		t.Fatalf("%v allocations per content event", n)
	}
}

// BenchmarkCohereStream replays a v2 chat stream of 300 content deltas
// (framing excluded) through one reused parser.
func BenchmarkCohereStream(b *testing.B) {
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	evs := []anthropicEvent{{"message-start", cohereStart},
		{"content-start", `{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}`}}
	for i := range 300 {
		evs = append(evs, anthropicEvent{"content-delta", `{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":" ` + words[i%len(words)] + `"}}}}`})
	}
	evs = append(evs, anthropicEvent{"content-end", `{"type":"content-end","index":0}`}, anthropicEvent{"message-end", cohereEnd})
	benchmarkStream(b, New(APICohere), evs)
}

func FuzzCohereMessage(f *testing.F) {
	for _, m := range fixtureMessages(f, "cohere") {
		f.Add(string(m.name), string(m.data))
	}
	f.Add("message-end", `{"delta":{"finish_reason":"TIMEOUT","error":{"x":1},"usage":{"billed_units":{"input_tokens":1.5e30,"output_tokens":-3}}}}`)
	f.Fuzz(func(t *testing.T, name, data string) {
		p := New(APICohere)
		p.Message([]byte("message-start"), []byte(cohereStart))
		checkStepInvariants(t, p, func() Kind { return p.Message([]byte(name), []byte(data)) })
		q := New(APICohere)
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
	})
}
