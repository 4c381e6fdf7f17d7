package parsers

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestOllamaFixtures(t *testing.T) { runFixtures(t, APIOllama, "ollama") }

const (
	ollamaLine = `{"model":"llama3.2","created_at":"2025-08-14T10:00:00.050000Z","message":{"role":"assistant","content":" sky"},"done":false}`
	ollamaDone = `{"model":"llama3.2","created_at":"2025-08-14T10:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":174560334,"prompt_eval_count":26,"prompt_eval_duration":13074791,"eval_count":5,"eval_duration":52479709}`
)

func TestOllamaMessageKinds(t *testing.T) {
	cases := []struct {
		data string
		want Kind
	}{
		{ollamaLine, KindMeaningful},
		{`{"model":"qwen2.5:7b","created_at":"2025-08-14T11:20:03.1Z","response":"Once","done":false}`, KindMeaningful},
		{ollamaDone, KindMeaningful},
		{`{"error":"an error was encountered while running the model"}`, KindError},
		{`{"error":""}`, KindIgnored},
		{`{"error":null,"model":"m"}`, KindMeaningful},
		{`{}`, KindIgnored},
		{`{"status":"pulling manifest"}`, KindIgnored},
		{"", KindIgnored},
		{"  \r", KindIgnored},
		{"null", KindIgnored},
		{ollamaLine[:50], KindMalformed},
		{`{"model":"m",}`, KindMalformed},
		{"Internal Server Error", KindMalformed},
	}
	for _, c := range cases {
		if got := New(APIOllama).Message(nil, []byte(c.data)); got != c.want {
			t.Errorf("Message(%.50q) = %v, want %v", c.data, got, c.want)
		}
	}
}

// TestOllamaFastPathIsSafe checks the lines the fast path must not skip
// are still read once the model is known.
func TestOllamaFastPathIsSafe(t *testing.T) {
	p := New(APIOllama)
	if p.Message(nil, []byte(ollamaLine)); p.Result().Model != "llama3.2" {
		t.Fatal("model not read from the first line")
	}
	if k := p.Message(nil, []byte(`{"model":"llama3.2","error":"boom","done":false}`)); k != KindError || p.Result().Err.Message != "boom" {
		t.Errorf("error line: kind %v, err %+v", k, p.Result().Err)
	}
	p.Message(nil, []byte(ollamaDone))
	if r := p.Result(); !r.Completed || r.Usage.TotalTokens != 31 {
		t.Errorf("done line: %+v", r)
	}
}

func TestOllamaUsage(t *testing.T) {
	p := New(APIOllama)
	p.Message(nil, []byte(ollamaLine))
	if r := p.Result(); r.Usage.Reported || r.Completed || r.Model != "llama3.2" {
		t.Fatalf("after a content line: %+v", r)
	}
	p.Message(nil, []byte(ollamaDone))
	r := p.Result()
	want := []RawCount{{"prompt_eval_count", 26}, {"eval_count", 5}}
	if r.Usage.InputTokens != 26 || r.Usage.OutputTokens != 5 || r.Usage.TotalTokens != 31 || !r.Completed ||
		r.FinishReason != "stop" || !reflect.DeepEqual(r.Usage.Raw, want) {
		t.Fatalf("after the done line: %+v", r)
	}
}

// An absent prompt_eval_count is not a zero: Raw shows it was not reported.
// prompt_eval_cached_count has no settled meaning and stays in Raw.
func TestOllamaAbsentAndRawOnlyCounts(t *testing.T) {
	p := New(APIOllama)
	p.Message(nil, []byte(`{"model":"m","done":true,"done_reason":"stop","eval_count":3,"prompt_eval_cached_count":20}`))
	u := p.Result().Usage
	want := []RawCount{{"eval_count", 3}, {"prompt_eval_cached_count", 20}}
	if !u.Reported || u.InputTokens != 0 || u.OutputTokens != 3 || u.CacheReadTokens != 0 || !reflect.DeepEqual(u.Raw, want) {
		t.Fatalf("got %+v", u)
	}
}

func TestOllamaBody(t *testing.T) {
	cases := []struct {
		name, body string
		kind       Kind
		completed  bool
		errMsg     string
	}{
		{"chat answer", "\n" + ollamaDone, KindMeaningful, true, ""},
		{"model not found", `{"error":"model \"x\" not found, try pulling it first"}`, KindError, false, `model "x" not found, try pulling it first`},
		{"not done", ollamaLine, KindMeaningful, false, ""},
		{"empty", "", KindIgnored, false, ""},
		{"html", "<html>502</html>", KindMalformed, false, ""},
	}
	for _, c := range cases {
		p := New(APIOllama)
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Err.Message != c.errMsg || (k == KindError) != (r.Err.Type == "error" && r.Err.Status == 502) {
			t.Errorf("%s: kind %v, result %+v", c.name, k, r)
		}
	}
}

func TestOllamaReset(t *testing.T) {
	p := New(APIOllama)
	p.Message(nil, []byte(ollamaDone))
	p.Message(nil, []byte(`{"error":"boom"}`))
	raw := p.Result().Usage.Raw
	p.Reset()
	if r := p.Result(); !reflect.DeepEqual(*r, Result{Usage: Usage{Raw: raw[:0]}}) {
		t.Fatalf("after Reset: %+v", *r)
	}
}

func TestOllamaContentLinesDoNotAllocate(t *testing.T) {
	p := New(APIOllama)
	line := []byte(ollamaLine)
	p.Message(nil, line)
	if n := testing.AllocsPerRun(100, func() { p.Message(nil, line) }); n != 0 {
		t.Fatalf("%v allocations per content line", n)
	}
}

// BenchmarkOllamaStream replays an /api/chat stream of 400 lines (framing
// excluded) through one reused parser.
func BenchmarkOllamaStream(b *testing.B) {
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	var evs []anthropicEvent
	for i := range 399 {
		evs = append(evs, anthropicEvent{"", `{"model":"llama3.2","created_at":"2025-08-14T10:00:` + strconv.Itoa(10+i%50) +
			`.123456789Z","message":{"role":"assistant","content":" ` + words[i%len(words)] + `"},"done":false}`})
	}
	benchmarkStream(b, New(APIOllama), append(evs, anthropicEvent{"", ollamaDone}))
}

func FuzzOllamaMessage(f *testing.F) {
	for _, m := range fixtureMessages(f, "ollama") {
		f.Add(string(m.data))
	}
	f.Add(`{"done":true,"prompt_eval_count":1e30,"eval_count":-1,"error":{"message":"x"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		p := New(APIOllama)
		p.Message(nil, []byte(ollamaLine))
		checkStepInvariants(t, p, func() Kind { return p.Message(nil, []byte(data)) })
		q := New(APIOllama)
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
	})
}
