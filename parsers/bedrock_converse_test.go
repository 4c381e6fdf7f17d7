package parsers

import (
	"reflect"
	"strings"
	"testing"
)

func TestBedrockConverseFixtures(t *testing.T) {
	runFixtures(t, APIBedrockConverse, "bedrock_converse")
}

const (
	brStart    = `{"role":"assistant","p":"abcdefgh"}`
	brDelta    = `{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghij"}`
	brStop     = `{"stopReason":"end_turn","p":"abcd"}`
	brMetadata = `{"usage":{"inputTokens":31,"outputTokens":57,"totalTokens":2648,"cacheReadInputTokens":2048,"cacheWriteInputTokens":512,"cacheDetails":[{"ttl":"1h","inputTokens":500},{"ttl":"5m","inputTokens":12}]},"metrics":{"latencyMs":1180}}`
)

// typedMessage is one eventstream frame as the decoder hands it over.
type typedMessage struct{ msgType, name, data string }

func dispatchAll(p Parser, msgs []typedMessage) Kind {
	k := KindIgnored
	for _, m := range msgs {
		k = Dispatch(p, []byte(m.msgType), []byte(m.name), []byte(m.data))
	}
	return k
}

func TestBedrockConverseMessageKinds(t *testing.T) {
	cases := []struct {
		typedMessage
		want Kind
	}{
		{typedMessage{"", "messageStart", brStart}, KindMeaningful},
		{typedMessage{"", "contentBlockDelta", brDelta}, KindMeaningful},
		{typedMessage{"", "contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}}`}, KindMeaningful},
		{typedMessage{"", "contentBlockDelta", brDelta[:30]}, KindMalformed},
		{typedMessage{"", "contentBlockStop", ""}, KindIgnored},
		{typedMessage{"", "messageStop", brStop}, KindMeaningful},
		{typedMessage{"", "messageStop", brStop[:20]}, KindMalformed},
		{typedMessage{"", "metadata", brMetadata}, KindMeaningful},
		{typedMessage{"", "metadata", "not json"}, KindMalformed},
		{typedMessage{"", "futureEvent", `{"x":1}`}, KindIgnored},
		{typedMessage{"", "", brStop}, KindIgnored}, // the name decides, not the payload
		{typedMessage{"event", "messageStop", brStop}, KindMeaningful},
		{typedMessage{"exception", "throttlingException", `{"message":"slow down"}`}, KindError},
		{typedMessage{"exception", "validationException", "not json"}, KindError},
		{typedMessage{"error", "InternalFailure", `{"message":"boom"}`}, KindError},
		{typedMessage{"future", "messageStop", brStop}, KindIgnored},
	}
	for _, c := range cases {
		if got := dispatchAll(New(APIBedrockConverse), []typedMessage{c.typedMessage}); got != c.want {
			t.Errorf("%+v: kind %v, want %v", c.typedMessage, got, c.want)
		}
	}
}

// TestBedrockExceptions checks both Bedrock parsers map exception and error
// frames the same way, whatever came before.
func TestBedrockExceptions(t *testing.T) {
	cases := []struct {
		msgType, name, data string
		wantType, wantMsg   string
		wantStatus          int
	}{
		{"exception", "throttlingException", `{"message":"Too many requests"}`, "throttlingException", "Too many requests", 429},
		{"exception", "serviceUnavailableException", `{"message":"unavailable"}`, "serviceUnavailableException", "unavailable", 503},
		{"exception", "validationException", `{"message":"bad input"}`, "validationException", "bad input", 400},
		{"exception", "internalServerException", `{"message":"oops"}`, "internalServerException", "oops", 500},
		{"exception", "modelStreamErrorException", `{"message":"stream failed","originalStatusCode":500}`, "modelStreamErrorException", "stream failed", 424},
		{"exception", "modelTimeoutException", `{"message":"timed out"}`, "modelTimeoutException", "timed out", 408},
		{"exception", "", `{"message":"no type"}`, "error", "no type", 502},
		{"exception", "throttlingException", "", "throttlingException", "", 429},
		{"error", "InternalFailure", `{"message":"unknown error"}`, "InternalFailure", "unknown error", 502},
	}
	for _, api := range []API{APIBedrockConverse, APIBedrockInvoke} {
		for _, c := range cases {
			p := New(api)
			Dispatch(p, nil, []byte("messageStart"), []byte(brStart))
			k := Dispatch(p, []byte(c.msgType), []byte(c.name), []byte(c.data))
			e := p.Result().Err
			if k != KindError || e.Type != c.wantType || e.Message != c.wantMsg || e.Status != c.wantStatus || p.Result().Completed {
				t.Errorf("%v %s %q: kind %v, err %+v", api, c.msgType, c.name, k, e)
			}
		}
	}
}

func TestBedrockConverseUsage(t *testing.T) {
	p := New(APIBedrockConverse)
	dispatchAll(p, []typedMessage{{"", "messageStart", brStart}, {"", "messageStop", brStop}, {"", "metadata", brMetadata},
		// A second report: the latest wins, a zero does not erase.
		{"", "metadata", `{"usage":{"inputTokens":30,"outputTokens":0,"totalTokens":2590}}`}})
	u := p.Result().Usage
	wantRaw := []RawCount{
		{"inputTokens", 30}, {"outputTokens", 57}, {"totalTokens", 2590},
		{"cacheReadInputTokens", 2048}, {"cacheWriteInputTokens", 512},
		{"cacheDetails.1h.inputTokens", 500}, {"cacheDetails.5m.inputTokens", 12},
	}
	if !reflect.DeepEqual(u.Raw, wantRaw) {
		t.Errorf("Raw:\n got %v\nwant %v", u.Raw, wantRaw)
	}
	u.Raw = nil
	want := Usage{InputTokens: 2590, OutputTokens: 57, CacheReadTokens: 2048, CacheCreationTokens: 512,
		TotalTokens: 2647, Reported: true, ProviderTotal: 2590, TotalMismatch: true}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("usage:\n got %+v\nwant %+v", u, want)
	}
	if r := p.Result(); r.Model != "" || !r.Completed || r.FinishReason != "end_turn" {
		t.Errorf("result %+v", r)
	}
}

func TestBedrockConverseBody(t *testing.T) {
	cases := []struct {
		name, body string
		kind       Kind
		completed  bool
		input      uint64
		errMsg     string
	}{
		{"answer", `{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":9,"cacheWriteInputTokens":4}}`,
			KindMeaningful, true, 7, ""},
		{"answer without usage", `{"output":{"message":{}},"stopReason":"end_turn"}`, KindMeaningful, true, 0, ""},
		{"http error", `{"message":"The security token included in the request is invalid."}`, KindError, false, 0, "The security token included in the request is invalid."},
		{"200 without output", `{"stopReason":"end_turn","usage":{"inputTokens":3}}`, KindError, false, 0, ""},
		{"empty", "\n ", KindIgnored, false, 0, ""},
		{"html", "<html>502</html>", KindMalformed, false, 0, ""},
		{"truncated", `{"output":{"message":{`, KindMalformed, false, 0, ""},
	}
	for _, c := range cases {
		p := New(APIBedrockConverse)
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Usage.InputTokens != c.input || r.Err.Message != c.errMsg ||
			(k == KindError) != (r.Err.Type == "error" && r.Err.Status == 502) {
			t.Errorf("%s: kind %v, result %+v", c.name, k, r)
		}
	}
}

func TestBedrockConverseReset(t *testing.T) {
	p := New(APIBedrockConverse)
	dispatchAll(p, []typedMessage{{"", "metadata", brMetadata}, {"", "messageStop", brStop}, {"exception", "throttlingException", "{}"}})
	raw := p.Result().Usage.Raw
	p.Reset()
	if r := p.Result(); !reflect.DeepEqual(*r, Result{Usage: Usage{Raw: raw[:0]}}) {
		t.Fatalf("after Reset: %+v", *r)
	}
	// The uncached input of the previous response must not leak into this one.
	dispatchAll(p, []typedMessage{{"", "metadata", `{"usage":{"cacheReadInputTokens":10,"outputTokens":1}}`}})
	if u := p.Result().Usage; u.InputTokens != 10 {
		t.Fatalf("second response: %+v", u)
	}
}

func TestBedrockConverseContentEventsDoNotAllocate(t *testing.T) {
	p := New(APIBedrockConverse)
	start, delta := []byte(brStart), []byte(brDelta)
	nameStart, nameDelta := []byte("messageStart"), []byte("contentBlockDelta")
	Dispatch(p, nil, nameStart, start)
	if n := testing.AllocsPerRun(100, func() { Dispatch(p, nil, nameDelta, delta) }); n != 0 {
		t.Fatalf("%v allocations per content event", n)
	}
}

// converseStream is a realistic ConverseStream: messageStart, 300 text
// deltas with padding, the block and message stops, and metadata.
func converseStream() []anthropicEvent {
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	evs := []anthropicEvent{{"messageStart", brStart}}
	for i := range 300 {
		evs = append(evs, anthropicEvent{"contentBlockDelta",
			`{"contentBlockIndex":0,"delta":{"text":" ` + words[i%len(words)] + `"},"p":"` + strings.Repeat("x", 1+i%30) + `"}`})
	}
	return append(evs, anthropicEvent{"contentBlockStop", `{"contentBlockIndex":0,"p":"abc"}`},
		anthropicEvent{"messageStop", brStop}, anthropicEvent{"metadata", brMetadata})
}

// BenchmarkBedrockConverseStream replays a ConverseStream's frames (framing
// excluded) through one reused parser. Compare runs with benchstat:
//
//	go test -run '^$' -bench BedrockConverseStream -count 10 ./parsers > new.txt
func BenchmarkBedrockConverseStream(b *testing.B) {
	benchmarkStream(b, New(APIBedrockConverse), converseStream())
}

func FuzzBedrockConverseMessage(f *testing.F) {
	for _, m := range fixtureMessages(f, "bedrock_converse") {
		f.Add(string(m.msgType), string(m.name), string(m.data))
	}
	f.Add("", "metadata", `{"usage":{"inputTokens":1e30,"outputTokens":-1,"cacheDetails":[{"ttl":"1h","inputTokens":"x"},null]}}`)
	f.Fuzz(func(t *testing.T, msgType, name, data string) {
		p := New(APIBedrockConverse)
		Dispatch(p, nil, []byte("messageStart"), []byte(brStart))
		checkStepInvariants(t, p, func() Kind { return Dispatch(p, []byte(msgType), []byte(name), []byte(data)) })
		q := New(APIBedrockConverse)
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
	})
}
