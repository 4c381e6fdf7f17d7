package parsers

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestOpenAIResponsesFixtures(t *testing.T) {
	runFixtures(t, APIOpenAIResponses, "openai_responses")
}

const responsesDelta = `{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"word","obfuscation":"kq"}`

func TestOpenAIResponsesMessageKinds(t *testing.T) {
	cases := []struct {
		name, event, data string
		want              Kind
	}{
		{"delta", "response.output_text.delta", responsesDelta, KindMeaningful},
		{"created", "response.created", `{"type":"response.created","response":{"status":"in_progress","model":"m"}}`, KindMeaningful},
		{"unknown response event", "response.brand_new.thing", `{"type":"response.brand_new.thing"}`, KindMeaningful},
		{"type wins over event name", "keepalive", `{"type":"response.output_text.delta","delta":"x"}`, KindMeaningful},
		{"event name when type is missing", "response.output_text.delta", `{"delta":"x"}`, KindMeaningful},
		{"event name when type is not a string", "error", `{"type":7,"message":"boom"}`, KindError},
		{"keep-alive", "keepalive", `{"type":"keepalive"}`, KindIgnored},
		{"no type and no name", "", `{"delta":"x"}`, KindIgnored},
		{"done marker", "", "[DONE]", KindIgnored},
		{"null", "", "null", KindIgnored},
		{"empty", "", "", KindIgnored},
		{"truncated delta", "response.output_text.delta", `{"type":"response.output_text.delta","delta":"x`, KindMalformed},
		{"broken terminal event", "response.completed", `{"type":"response.completed","response":{"status":"completed"},}`, KindMalformed},
		{"error event", "error", `{"type":"error","code":"server_error","message":"boom"}`, KindError},
		{"failed", "response.failed", `{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"}}}`, KindError},
		{"completed", "response.completed", `{"type":"response.completed","response":{"status":"completed"}}`, KindMeaningful},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIResponses)
			if got := p.Message([]byte(c.event), []byte(c.data)); got != c.want {
				t.Errorf("Message(%q, %q) = %d, want %d", c.event, c.data, got, c.want)
			}
		})
	}
}

func TestOpenAIResponsesTerminalStatus(t *testing.T) {
	cases := []struct {
		name, data string
		kind       Kind
		completed  bool
		reason     string
		errType    string
	}{
		{"status missing: the event type decides", `{"type":"response.incomplete","response":{"incomplete_details":{"reason":"content_filter"}}}`,
			KindMeaningful, true, "content_filter", ""},
		{"incomplete without details", `{"type":"response.incomplete","response":{"status":"incomplete"}}`,
			KindMeaningful, true, "incomplete", ""},
		{"terminal status wins over the event type", `{"type":"response.done","response":{"status":"failed","error":{"code":"server_error","message":"x"}}}`,
			KindError, true, "failed", "server_error"},
		{"non-terminal status: the event type decides", `{"type":"response.completed","response":{"status":"in_progress"}}`,
			KindMeaningful, true, "completed", ""},
		{"cancelled", `{"type":"response.done","response":{"status":"cancelled"}}`,
			KindMeaningful, true, "cancelled", ""},
		{"failed without error object", `{"type":"response.failed","response":{"status":"failed","error":null}}`,
			KindError, true, "failed", "error"},
		{"created never completes", `{"type":"response.created","response":{"status":"completed"}}`,
			KindMeaningful, false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIResponses)
			k := p.Message(nil, []byte(c.data))
			r := p.Result()
			if k != c.kind || r.Completed != c.completed || r.FinishReason != c.reason || r.Err.Type != c.errType {
				t.Errorf("got kind %d completed %v reason %q error %q; want %d %v %q %q",
					k, r.Completed, r.FinishReason, r.Err.Type, c.kind, c.completed, c.reason, c.errType)
			}
		})
	}
}

func TestOpenAIResponsesErrorEvent(t *testing.T) {
	cases := []struct {
		name, data string
		want       Error
	}{
		{"flat", `{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null,"sequence_number":3}`,
			Error{Type: "rate_limit_exceeded", Code: "rate_limit_exceeded", Message: "slow down", Status: 429}},
		{"flat without code", `{"type":"error","code":null,"message":"boom","param":null}`,
			Error{Type: "error", Message: "boom", Status: 502}},
		{"nested", `{"type":"error","sequence_number":2,"error":{"type":"too_many_requests","code":"rate_limit_exceeded","message":"slow down","param":null}}`,
			Error{Type: "too_many_requests", Code: "rate_limit_exceeded", Message: "slow down", Status: 429}},
		{"nested members win, flat ones fill gaps", `{"type":"error","code":"server_error","message":"outer","error":{"type":"invalid_request_error","message":"inner"}}`,
			Error{Type: "invalid_request_error", Code: "server_error", Message: "inner", Status: 400}},
		{"nested with numeric code", `{"type":"error","error":{"message":"unavailable","code":503}}`,
			Error{Type: "error", Code: "503", Message: "unavailable", Status: 503}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(APIOpenAIResponses)
			if k := p.Message([]byte("error"), []byte(c.data)); k != KindError {
				t.Fatalf("kind %d", k)
			}
			if got := p.Result().Err; got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
			if p.Result().Completed {
				t.Error("an error event alone completed the response")
			}
		})
	}
}

func TestOpenAIResponsesBodyKinds(t *testing.T) {
	checkBodyKinds(t, APIOpenAIResponses, []bodyKindCase{
		{"empty", "", KindMalformed, false},
		{"truncated", `{"id":"resp_1","status":"completed",`, KindMalformed, false},
		{"leading whitespace", "\n  " + `{"status":"completed","model":"m"}`, KindMeaningful, true},
		{"in progress", `{"status":"in_progress","model":"m"}`, KindMeaningful, false},
		{"failed", `{"status":"failed","error":{"code":"server_error","message":"x"}}`, KindError, false},
		{"envelope", `{"error":{"message":"x","type":"invalid_request_error","code":null}}`, KindError, false},
		{"success carries error null", `{"status":"completed","error":null,"usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2}}`, KindMeaningful, true},
	})
}

// TestOpenAIResponsesXAIUsage checks that the Chat vendor rules apply to
// Responses usage too: a total that only adds up with reasoning outside
// output_tokens is xAI's convention.
func TestOpenAIResponsesXAIUsage(t *testing.T) {
	p := New(APIOpenAIResponses)
	p.Body([]byte(`{"status":"completed","model":"grok-4","usage":{"input_tokens":100,"output_tokens":20,"output_tokens_details":{"reasoning_tokens":50},"total_tokens":170}}`))
	u := p.Result().Usage
	if u.OutputTokens != 70 || u.TotalTokens != 170 || u.TotalMismatch || p.Result().Vendor != "xai" {
		t.Errorf("got %+v vendor %q", u, p.Result().Vendor)
	}
	want := []RawCount{{"input_tokens", 100}, {"output_tokens", 20}, {"output_tokens_details.reasoning_tokens", 50}, {"total_tokens", 170}}
	if len(u.Raw) != len(want) {
		t.Fatalf("Raw %v", u.Raw)
	}
	for i := range want {
		if u.Raw[i] != want[i] {
			t.Errorf("Raw %v, want %v", u.Raw, want)
		}
	}
}

func TestOpenAIResponsesReset(t *testing.T) {
	p := New(APIOpenAIResponses)
	for _, ev := range fixtureEvents(t, "openai_responses/error_event_nested_then_failed.sse") {
		p.Message(nil, ev)
	}
	p.Reset()
	if r := p.Result(); r.Err.Type != "" || r.Completed || r.Model != "" || r.FinishReason != "" {
		t.Fatalf("after Reset: %+v", r)
	}
	p.Message(nil, []byte(`{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"second"}}}`))
	if e := p.Result().Err; e.Message != "second" {
		t.Errorf("the first stream's error survived Reset: %+v", e)
	}
}

func TestOpenAIResponsesDeltaDoesNotAllocate(t *testing.T) {
	p := New(APIOpenAIResponses)
	name, data := []byte("response.output_text.delta"), []byte(responsesDelta)
	if n := testing.AllocsPerRun(100, func() { p.Message(name, data) }); n != 0 {
		t.Errorf("%v allocations per delta", n)
	}
}

// responsesStream is a realistic answer: created, in_progress, item and
// part events, 400 text deltas, the done events and response.completed.
func responsesStream() (names, data [][]byte) {
	add := func(typ, body string) {
		names = append(names, []byte(typ))
		data = append(data, []byte(`{"type":"`+typ+`",`+body+`}`))
	}
	resp := `"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1741476542,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"error":null,"incomplete_details":null,"usage":null}`
	add("response.created", `"sequence_number":0,`+resp)
	add("response.in_progress", `"sequence_number":1,`+resp)
	add("response.output_item.added", `"sequence_number":2,"output_index":0,"item":{"type":"message","id":"msg_67ccd2bf","status":"in_progress","role":"assistant","content":[]}`)
	add("response.content_part.added", `"sequence_number":3,"item_id":"msg_67ccd2bf","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`)
	words := []string{"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".\n"}
	for i := range 400 {
		add("response.output_text.delta", `"sequence_number":`+strconv.Itoa(4+i)+`,"item_id":"msg_67ccd2bf","output_index":0,"content_index":0,"delta":"`+words[i%len(words)]+`","obfuscation":"k9Zq"`)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 40)
	text = strings.ReplaceAll(text, "\n", `\n`)
	add("response.output_text.done", `"sequence_number":404,"item_id":"msg_67ccd2bf","output_index":0,"content_index":0,"text":"`+text+`"`)
	add("response.content_part.done", `"sequence_number":405,"item_id":"msg_67ccd2bf","output_index":0,"content_index":0,"part":{"type":"output_text","text":"`+text+`","annotations":[]}`)
	item := `{"type":"message","id":"msg_67ccd2bf","status":"completed","role":"assistant","content":[{"type":"output_text","text":"` + text + `","annotations":[]}]}`
	add("response.output_item.done", `"sequence_number":406,"output_index":0,"item":`+item)
	add("response.completed", `"sequence_number":407,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1741476542,"status":"completed","model":"gpt-4.1-2025-04-14","output":[`+item+`],"error":null,"incomplete_details":null,"usage":{"input_tokens":1250,"input_tokens_details":{"cached_tokens":1024},"output_tokens":400,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1650}}`)
	return names, data
}

// BenchmarkOpenAIResponsesStream measures one whole stream per op, framing
// excluded; see BenchmarkOpenAIChatStream for the benchstat recipe.
func BenchmarkOpenAIResponsesStream(b *testing.B) {
	names, data := responsesStream()
	p := New(APIOpenAIResponses)
	benchmarkMessages(b, p, names, data)
	if r := p.Result(); r.Usage.TotalTokens != 1650 || !r.Completed {
		b.Fatalf("wrong result %+v", r)
	}
}

// FuzzOpenAIResponsesMessage feeds arbitrary events under each kind of
// event name, and arbitrary bodies.
func FuzzOpenAIResponsesMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "openai_responses", "*.sse"))
	for _, file := range files {
		for _, ev := range fixtureEvents(f, strings.TrimPrefix(file, "testdata/")) {
			f.Add(ev)
		}
	}
	names := [][]byte{nil, []byte("error"), []byte("response.completed"), []byte("response.output_text.delta")}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range names {
			p := New(APIOpenAIResponses)
			p.Message(name, data)
			p.Message(name, data)
			checkInvariants(t, p.Result())
		}
		p := New(APIOpenAIResponses)
		p.Body(data)
		checkInvariants(t, p.Result())
	})
}
