package parsers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tokenmeter/tokenmeter/sseparse"
)

func TestOpenAIChatFixtures(t *testing.T) { runFixtures(t, APIOpenAIChat, "openai_chat") }

// A content chunk as OpenAI sends it with include_usage: it must take the
// fast path.
const chatDelta = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"word"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Zq"}`

func TestOpenAIChatMessageKinds(t *testing.T) {
	cases := []struct {
		name, data string
		want       Kind
	}{
		{"done marker", "[DONE]", KindIgnored},
		{"done marker padded", " [DONE]\n", KindIgnored},
		{"empty", "", KindIgnored},
		{"null", "null", KindIgnored},
		{"truncated object", `{"id":"chatcmpl-1","choices":[{"delta":{"content":"Hel`, KindMalformed},
		{"braced but broken", `{"id":"chatcmpl-1","usage":{"prompt_tokens":1}`, KindMalformed},
		{"text", "upstream connect error", KindMalformed},
		{"empty object", `{}`, KindIgnored},
		{"unrelated object", `{"ping":true}`, KindIgnored},
		{"content chunk", chatDelta, KindMeaningful},
		{"azure prompt filter chunk", `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`, KindMeaningful},
		{"usage chunk", `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, KindMeaningful},
		{"error envelope", `{"error":{"message":"boom","type":"server_error","code":null}}`, KindError},
		{"error string", `{"error":"model is overloaded"}`, KindError},
		{"empty error string", `{"id":"x","choices":[],"error":""}`, KindMeaningful},
		{"null error", `{"id":"x","choices":[],"error":null}`, KindMeaningful},
		{"legacy vllm error", `{"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}`, KindError},
		{"finish reason error", `{"id":"x","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"error"}]}`, KindError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIChat)
			if got := p.Message(nil, []byte(c.data)); got != c.want {
				t.Errorf("Message(%q) = %d, want %d", c.data, got, c.want)
			}
		})
	}
}

// TestOpenAIChatMalformedChangesNothing sends, after a normal chunk, broken
// messages that would each change the result if they were read.
func TestOpenAIChatMalformedChangesNothing(t *testing.T) {
	for _, bad := range []string{
		`{"error":{"message":"x","type":"server_error"}`,
		`{"choices":[{"index":0,"finish_reason":"stop"}],"usage":{"prompt_tokens":5}`,
		`{"model":"other","usage":{"prompt_tokens":5},}`,
		`[DONE`,
	} {
		p := New(APIOpenAIChat)
		p.Message(nil, []byte(`{"id":"a","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`))
		before := *p.Result()
		if k := p.Message(nil, []byte(bad)); k != KindMalformed {
			t.Errorf("%s: kind %d, want malformed", bad, k)
		}
		if after := *p.Result(); !sameResult(before, after) {
			t.Errorf("%s changed the result:\n%+v\n%+v", bad, before, after)
		}
	}
}

func sameResult(a, b Result) bool { return reflect.DeepEqual(a, b) }

// TestOpenAIChatStreamMerge checks the running-total rules on usage that
// arrives more than once.
func TestOpenAIChatStreamMerge(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   Usage
	}{
		{
			name: "later zero and missing fields keep earlier values",
			chunks: []string{
				`{"id":"a","model":"m","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}`,
				`{"id":"a","model":"m","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":7,"total_tokens":0}}`,
			},
			want: Usage{InputTokens: 10, OutputTokens: 7, CacheReadTokens: 4, TotalTokens: 17, Reported: true, ProviderTotal: 15, TotalMismatch: true},
		},
		{
			name: "cumulative reports are not summed",
			chunks: []string{
				`{"id":"a","model":"m","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21}}`,
				`{"id":"a","model":"m","choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`,
			},
			want: Usage{InputTokens: 20, OutputTokens: 2, TotalTokens: 22, Reported: true, ProviderTotal: 22},
		},
		{
			name: "zero cost after a price keeps the price",
			chunks: []string{
				`{"id":"gen-1","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"cost":0.25}}`,
				`{"id":"gen-1","model":"m","choices":[],"usage":{"cost":0}}`,
			},
			want: Usage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4, Reported: true, ProviderTotal: 4, Cost: 0.25, CostReported: true},
		},
		{
			name:   "free model reports cost zero",
			chunks: []string{`{"id":"gen-1","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"cost":0}}`},
			want:   Usage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4, Reported: true, ProviderTotal: 4, CostReported: true},
		},
		{
			name:   "usage object without figures is not a report",
			chunks: []string{`{"id":"a","model":"m","choices":[],"usage":{"prompt_tokens":null,"queue_time":0.1}}`},
			want:   Usage{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIChat)
			for _, ch := range c.chunks {
				p.Message(nil, []byte(ch))
			}
			got := p.Result().Usage
			got.Raw = nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestOpenAIChatRawCounts(t *testing.T) {
	p := New(APIOpenAIChat)
	for _, ev := range fixtureEvents(t, "openai_chat/deepseek_cache_hit_usage_on_finish_chunk.sse") {
		p.Message(nil, ev)
	}
	want := []RawCount{
		{"prompt_tokens", 1500}, {"completion_tokens", 420}, {"total_tokens", 1920},
		{"prompt_tokens_details.cached_tokens", 1280},
		{"completion_tokens_details.reasoning_tokens", 380},
		{"prompt_cache_hit_tokens", 1280}, {"prompt_cache_miss_tokens", 220},
	}
	if got := p.Result().Usage.Raw; !slices.Equal(got, want) {
		t.Errorf("Raw\n got %v\nwant %v", got, want)
	}

	// Groq reports the same figures twice: Raw keeps one entry per name.
	p = New(APIOpenAIChat)
	for _, ev := range fixtureEvents(t, "openai_chat/groq_x_groq_and_usage_chunk_counted_once.sse") {
		p.Message(nil, ev)
	}
	want = []RawCount{{"prompt_tokens", 48}, {"completion_tokens", 12}, {"total_tokens", 60}}
	if got := p.Result().Usage.Raw; !slices.Equal(got, want) {
		t.Errorf("Groq Raw\n got %v\nwant %v", got, want)
	}
}

func TestOpenAIChatErrors(t *testing.T) {
	long := strings.Repeat("x", 2*MaxErrorMessage)
	cases := []struct {
		name, body string
		want       Error
	}{
		{"integer code wins over type", `{"error":{"message":"m","type":"invalid_request_error","code":503}}`,
			Error{Type: "invalid_request_error", Code: "503", Message: "m", Status: 503}},
		{"integer code outside 4xx/5xx is ignored", `{"error":{"message":"m","type":"rate_limit_error","code":42}}`,
			Error{Type: "rate_limit_error", Code: "42", Message: "m", Status: 429}},
		{"string code is more specific than type", `{"error":{"message":"m","type":"invalid_request_error","code":"model_not_found"}}`,
			Error{Type: "invalid_request_error", Code: "model_not_found", Message: "m", Status: 404}},
		{"unrecognised string code falls back to type", `{"error":{"message":"m","type":"invalid_request_error","code":"context_length_exceeded"}}`,
			Error{Type: "invalid_request_error", Code: "context_length_exceeded", Message: "m", Status: 400}},
		{"azure status member", `{"error":{"message":"m","type":null,"code":"content_filter","status":400}}`,
			Error{Type: "content_filter", Code: "content_filter", Message: "m", Status: 400}},
		{"no type and numeric code", `{"error":{"message":"m","code":502}}`,
			Error{Type: "error", Code: "502", Message: "m", Status: 502}},
		{"bare string", `{"error":"model is overloaded"}`,
			Error{Type: "error", Message: "model is overloaded", Status: 502}},
		{"escaped message", `{"error":{"message":"say \"hi\"\n","type":"server_error"}}`,
			Error{Type: "server_error", Message: "say \"hi\"\n", Status: 502}},
		{"long message is truncated", `{"error":{"message":"` + long + `","type":"server_error"}}`,
			Error{Type: "server_error", Message: long[:MaxErrorMessage], Status: 502}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIChat)
			if k := p.Body([]byte(c.body)); k != KindError {
				t.Fatalf("kind %d, want error", k)
			}
			if got := p.Result().Err; got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
			if p.Result().Completed {
				t.Error("an error body counted as completed")
			}
		})
	}
}

func TestOpenAIChatKeepsFirstError(t *testing.T) {
	p := New(APIOpenAIChat)
	p.Message(nil, []byte(`{"error":{"message":"first","type":"server_error"}}`))
	p.Message(nil, []byte(`{"error":{"message":"second","type":"rate_limit_error"}}`))
	if e := p.Result().Err; e.Message != "first" || e.Type != "server_error" {
		t.Errorf("got %+v", e)
	}
}

func TestOpenAIChatBodyKinds(t *testing.T) {
	checkBodyKinds(t, APIOpenAIChat, []bodyKindCase{
		{"empty", "", KindMalformed, false},
		{"whitespace", " \n\t", KindMalformed, false},
		{"truncated", `{"id":"chatcmpl-1","choices":[`, KindMalformed, false},
		{"array", `[{"id":"x"}]`, KindMalformed, false},
		{"empty object", `{}`, KindIgnored, false},
		{"completion", `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}]}`, KindMeaningful, true},
		{"completion without finish reason", `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"content":"hi"}}]}`, KindMeaningful, true},
		{"error with finish reason", `{"id":"gen-1","error":{"code":502,"message":"down"},"choices":[{"index":0,"finish_reason":"error"}]}`, KindError, false},
	})
}

func TestOpenAIChatCompletion(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   bool
	}{
		{"finish on every seen choice", []string{
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}},{"index":1,"delta":{"role":"assistant"}}]}`,
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"}]}`,
		}, true},
		{"second choice appears on the fast path's watch", []string{
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`,
			`{"id":"a","model":"m","choices":[{"index":1,"delta":{"content":"x"},"finish_reason":null}]}`,
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		}, false},
		{"index 64 and above is not tracked", []string{
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}`,
			`{"id":"a","model":"m","choices":[{"index":70,"delta":{"role":"assistant"}}]}`,
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		}, true},
		{"choice without index takes its position", []string{
			`{"id":"a","model":"m","choices":[{"delta":{"role":"assistant"}},{"delta":{"role":"assistant"}}]}`,
			`{"id":"a","model":"m","choices":[{"delta":{},"finish_reason":"stop"}]}`,
		}, false},
		{"only DONE", []string{`[DONE]`}, true},
		{"error without DONE", []string{
			`{"id":"a","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}`,
			`{"error":{"message":"boom","type":"server_error"}}`,
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIChat)
			for _, ch := range c.chunks {
				p.Message(nil, []byte(ch))
			}
			if got := p.Result().Completed; got != c.want {
				t.Errorf("completed %v, want %v", got, c.want)
			}
		})
	}
}

func TestPlainChunk(t *testing.T) {
	cases := []struct {
		data string
		want bool
	}{
		{chatDelta, true},
		{`{"usage" : null , "x":1}`, true},
		{`{"usage":{"prompt_tokens":1}}`, false},
		{`{"usage":null,"x":{"usage":{}}}`, false},
		{`{"finish_reason":""}`, true},
		{"{\"finish_reason\"\t:\n\"stop\"}", false},
		{`{"index":0,"x":[{"index":0}]}`, true},
		{`{"index":0,"tool_calls":[{"index":1}]}`, false},
		{`{"index":01}`, false},
		{`{"index":0.5}`, false},
		{`{"prompt_index":3}`, true},
		{`{"object":"error","message":"x"}`, false},
		{`{"object":"chat.completion.chunk","x":"error"}`, true},
		{`{"error":null}`, true},
		{`{"error":{"message":"x"}}`, false},
		{`{"x_groq":{"id":"req_1"}}`, false},
		{`{"content":"Note: the \"usage\": {} is"}`, true},
		{`{"content":"\"usage\":1"}`, true},
		{`{"content":"a \"b\" c"}`, true},
		{`{"content":":::"}`, true},
		{`:`, true},
		{`"usage":1`, false},
	}
	for _, c := range cases {
		if got := plainChunk([]byte(c.data)); got != c.want {
			t.Errorf("plainChunk(%s) = %v, want %v", c.data, got, c.want)
		}
	}
}

// TestOpenAIChatFastPathIsSafe replays every chat fixture and checks that
// each chunk the fast path skips would have changed nothing had it been
// parsed.
func TestOpenAIChatFastPathIsSafe(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "openai_chat", "*.sse"))
	skipped := 0
	for _, f := range files {
		p := newOpenAIChat().(*openAIChat)
		for _, ev := range fixtureEvents(t, strings.TrimPrefix(f, "testdata/")) {
			parsed := *p
			parsed.res.Usage.Raw = slices.Clone(p.res.Usage.Raw)
			p.Message(nil, ev)
			d := bytes.TrimSpace(ev)
			if parsed.res.Model == "" || !braced(d) || !plainChunk(d) || !gjson.Valid(view(d)) {
				continue
			}
			skipped++
			if k := parsed.chunk(gjson.Parse(view(d))); k != KindMeaningful {
				t.Errorf("%s: skipped chunk parses as kind %d: %s", f, k, d)
			}
			if !sameResult(parsed.res, p.res) || parsed.seen != p.seen || parsed.finished != p.finished {
				t.Errorf("%s: skipped chunk would change the result: %s", f, d)
			}
		}
	}
	if skipped == 0 {
		t.Fatal("no chunk took the fast path")
	}
}

// TestOpenAIChatWalkedChunksMatchGjson replays every chat fixture and a set
// of probes through a parser with the walkObject path and one with gjson
// only: after every message the kinds and all state must agree.
func TestOpenAIChatWalkedChunksMatchGjson(t *testing.T) {
	var streams [][][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "openai_chat", "*.sse"))
	for _, f := range files {
		streams = append(streams, fixtureEvents(t, strings.TrimPrefix(f, "testdata/")))
	}
	members := make([]string, 30)
	for i := range members {
		members[i] = fmt.Sprintf(`"m%d":%d`, i, i)
	}
	var probes [][]byte
	for _, s := range []string{
		`{"error":{"message":"x","type":"server_error","code":500}}`,
		`{"object":"error","message":"bad","type":"BadRequestError","code":400}`,
		`{"id":"gen-123","model":"m","choices":[],"provider":"OpenAI","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost":0.1}}`,
		`{"x_groq":{"id":"req","usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}},"model":"m","choices":[]}`,
		`{"prompt_filter_results":[{"prompt_index":0}],"model":"","choices":[]}`,
		`{"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},"usage":null,"model":"a","model":"b"}`,
		`{"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8},"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`,
		`{"model":5,"choices":[{"index":1,"finish_reason":"length"},{"finish_reason":"stop"}]}`,
		`{"choices":[{"index":0,"finish_reason":"error","content_filter_results":{}}],"error":"boom"}`,
		`{"mod\u0065l":"x","choices":[]}`,
		`{"model":"gpt-\u00e9","id":"gen\u002d1","choices":[{"index":0,"delta":{"content":"\"a\\"},"finish_reason":null}]}`,
		`{` + strings.Join(members, ",") + `,"model":"many members"}`,
		`{"model":"deep","choices":[],"x":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`,
		`{"choices":null,"usage":"str","error":{}}`,
		`{"error":""}`,
		`{"error":null,"id":7}`,
		` { "model" : "spaced" , "choices" : [ ] , "usage" : { "prompt_tokens" : 3 , "completion_tokens" : 4 , "total_tokens" : 7 } } `,
		`{"model":"m",}`,
		`{"model":"m"} {}`,
		`{}`,
	} {
		probes = append(probes, []byte(s))
	}
	walked := 0
	for _, msgs := range append(streams, probes) {
		fast, slow := newOpenAIChat().(*openAIChat), &openAIChat{slow: true}
		for _, msg := range msgs {
			d := bytes.TrimSpace(msg)
			if !(fast.res.Model != "" && plainChunk(d)) && walkObject(d, 1, new(topMembers)) {
				walked++
			}
			kf, ks := fast.Message(nil, msg), slow.Message(nil, msg)
			if kf != ks || !sameResult(fast.res, slow.res) || fast.seen != slow.seen || fast.finished != slow.finished || fast.usage != slow.usage {
				t.Errorf("%s:\nwalked: kind %v %+v\ngjson: kind %v %+v", msg, kf, fast.res, ks, slow.res)
			}
		}
	}
	if walked < len(files) {
		t.Fatalf("only %d messages took the walkObject path", walked)
	}
}

func TestOpenAIChatReset(t *testing.T) {
	p := New(APIOpenAIChat)
	events := fixtureEvents(t, "openai_chat/openai_two_choices_one_unfinished.sse")
	for _, ev := range events {
		p.Message(nil, ev)
	}
	first := *p.Result()
	p.Reset()
	if r := p.Result(); r.Model != "" || r.FinishReason != "" || len(r.Usage.Raw) != 0 {
		t.Fatalf("after Reset: %+v", r)
	}
	// The unfinished choice of the first stream must not block the second.
	p.Message(nil, []byte(`{"id":"b","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`))
	if !p.Result().Completed || first.Completed {
		t.Errorf("choice state leaked across Reset: first %v, second %v", first.Completed, p.Result().Completed)
	}
}

func TestOpenAIChatContentChunkDoesNotAllocate(t *testing.T) {
	p := New(APIOpenAIChat)
	p.Message(nil, []byte(chatDelta))
	usage := []byte(`{"id":"a","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0}}}`)
	p.Message(nil, usage)
	for name, ev := range map[string][]byte{"content": []byte(chatDelta), "cumulative usage": usage} {
		if n := testing.AllocsPerRun(100, func() { p.Message(nil, ev) }); n != 0 {
			t.Errorf("%s chunk: %v allocations", name, n)
		}
	}
}

// fixtureEvents frames a fixture under testdata/ into its SSE event data.
func fixtureEvents(t testing.TB, name string) [][]byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f := sseparse.NewSSE(0)
	f.Feed(body)
	f.Close()
	var out [][]byte
	var ev sseparse.Event
	for f.Next(&ev) {
		out = append(out, slices.Clone(ev.Data))
	}
	return out
}

// chatStream is a realistic long answer: role chunk, 400 content chunks,
// finish chunk, include_usage chunk and [DONE].
func chatStream() [][]byte {
	var evs [][]byte
	head := `{"id":"chatcmpl-B9xYz","object":"chat.completion.chunk","created":1755137737,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":`
	evs = append(evs, []byte(head+`{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"3Vq"}`))
	words := []string{"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".\n"}
	for i := range 400 {
		evs = append(evs, []byte(head+`{"content":"`+words[i%len(words)]+`"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k9Z"}`))
	}
	evs = append(evs, []byte(head+`{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"a"}`))
	evs = append(evs, []byte(`{"id":"chatcmpl-B9xYz","object":"chat.completion.chunk","created":1755137737,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[],"usage":{"prompt_tokens":1250,"completion_tokens":400,"total_tokens":1650,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"Qw"}`))
	return append(evs, []byte("[DONE]"))
}

// BenchmarkOpenAIChatStream measures one whole stream per op, as the plugin
// drives it (framing excluded). Compare runs with:
//
//	go test ./parsers -run '^$' -bench OpenAIChatStream -count 10 > new.txt && benchstat old.txt new.txt
func BenchmarkOpenAIChatStream(b *testing.B) {
	evs := chatStream()
	p := New(APIOpenAIChat)
	benchmarkMessages(b, p, make([][]byte, len(evs)), evs) // Chat events have no names
	if r := p.Result(); r.Usage.TotalTokens != 1650 || !r.Completed {
		b.Fatalf("wrong result %+v", r)
	}
}

// FuzzOpenAIChatMessage feeds arbitrary messages and bodies: the parser must
// not panic, must keep its invariants, and must read a message the same on
// the walkObject path as on gjson's.
func FuzzOpenAIChatMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "openai_chat", "*.sse"))
	for _, file := range files {
		for _, ev := range fixtureEvents(f, strings.TrimPrefix(file, "testdata/")) {
			f.Add(ev)
		}
	}
	f.Add([]byte(`{"choices":[{"index":18446744073709551615,"finish_reason":"stop"}]}`))
	f.Add([]byte(`{"usage":{"prompt_tokens":1e30,"completion_tokens":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := New(APIOpenAIChat)
		p.Message(nil, []byte(chatDelta))
		p.Message(nil, data)
		p.Message(nil, data)
		checkInvariants(t, p.Result())
		p.Reset()
		p.Body(data)
		checkInvariants(t, p.Result())
		// The walkObject path must read every message exactly as gjson's.
		fast, slow := newOpenAIChat().(*openAIChat), &openAIChat{slow: true}
		for _, msg := range [][]byte{data, []byte(chatDelta), data} {
			kf, ks := fast.Message(nil, msg), slow.Message(nil, msg)
			if kf != ks || !sameResult(fast.res, slow.res) || fast.seen != slow.seen || fast.finished != slow.finished || fast.usage != slow.usage {
				t.Fatalf("%s: walked kind %v %+v, gjson kind %v %+v", msg, kf, fast.res, ks, slow.res)
			}
		}
	})
}

func checkInvariants(t *testing.T, r *Result) {
	t.Helper()
	u := r.Usage
	if u.TotalTokens != u.InputTokens+u.OutputTokens {
		t.Errorf("TotalTokens %d != %d + %d", u.TotalTokens, u.InputTokens, u.OutputTokens)
	}
	if len(r.Err.Message) > MaxErrorMessage {
		t.Errorf("error message of %d bytes", len(r.Err.Message))
	}
	if r.Err.Type == "" && (r.Err.Message != "" || r.Err.Status != 0) {
		t.Errorf("error without type: %+v", r.Err)
	}
}
