package parsers

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestGeminiFixtures(t *testing.T) {
	runFixtures(t, APIGemini, "gemini")
}

// gemChunk builds a realistic streamed chunk with the given usageMetadata
// members and candidate members.
func gemChunk(usage, candidate string) string {
	if candidate != "" {
		candidate = "," + candidate
	}
	return `{"candidates": [{"content": {"parts": [{"text": "some text"}],"role": "model"}` + candidate + `,"index": 0}],` +
		`"usageMetadata": {` + usage + `},"modelVersion": "gemini-2.5-flash","responseId": "abc"}`
}

func feedGemini(p Parser, chunks ...string) Kind {
	k := KindIgnored
	for _, c := range chunks {
		k = p.Message(nil, []byte(c))
	}
	return k
}

func TestGeminiMessageKinds(t *testing.T) {
	cases := []struct {
		data string
		want Kind
	}{
		{gemChunk(`"promptTokenCount": 9`, ""), KindMeaningful},
		{`{"candidates": [{"content": {"parts": [{"text": "x"}]}}]}`, KindMeaningful},
		{`{"usageMetadata": {"promptTokenCount": 9}}`, KindMeaningful},
		{`{"promptFeedback": {"blockReason": "SAFETY"}}`, KindMeaningful},
		{"\r\n  " + `{"modelVersion": "gemini-2.5-pro"}` + "\r\n", KindMeaningful},
		{`{}`, KindIgnored},
		{`{"responseId": "abc", "somethingNew": 1}`, KindIgnored},
		{"", KindIgnored},
		{`[]`, KindIgnored},
		{`{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}`, KindError},
		{"{\n  \"error\": {\n    \"code\": 500,\n    \"status\": \"INTERNAL\"\n  }\n}\n", KindError},
		{`[{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}]`, KindError},
		{`[` + gemChunk(`"promptTokenCount": 9`, "") + `, {"error": {"code": 503}}]`, KindError},
		{`[{"error": {"code": 503}}, ` + gemChunk(`"promptTokenCount": 9`, "") + `]`, KindError},
		{`{"error": "not an object"}`, KindIgnored},
		{gemChunk(`"promptTokenCount": 9`, "")[:60], KindMalformed},
		{`[{"candidates": []},`, KindMalformed},
		{`[DONE]`, KindMalformed},
		{`"text"`, KindMalformed},
		{`data: {"candidates": []}`, KindMalformed},
	}
	for _, c := range cases {
		if got := newGemini().Message(nil, []byte(c.data)); got != c.want {
			t.Errorf("Message(%q) = %v, want %v", c.data, got, c.want)
		}
	}
}

func TestGeminiUsageSnapshots(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   Usage // Raw and Reported are not compared here
	}{
		{
			name: "latest snapshot wins, nothing is summed",
			chunks: []string{
				gemChunk(`"promptTokenCount": 9, "totalTokenCount": 9`, ""),
				gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14`, ""),
				gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 12, "totalTokenCount": 21`, `"finishReason": "STOP"`),
			},
			want: Usage{InputTokens: 9, OutputTokens: 12, TotalTokens: 21, ProviderTotal: 21},
		},
		{
			name: "a revised-down prompt count wins too",
			chunks: []string{
				gemChunk(`"promptTokenCount": 2304, "totalTokenCount": 2304`, ""),
				gemChunk(`"promptTokenCount": 2301, "candidatesTokenCount": 3, "totalTokenCount": 2304`, ""),
			},
			want: Usage{InputTokens: 2301, OutputTokens: 3, TotalTokens: 2304, ProviderTotal: 2304},
		},
		{
			name: "omitted or zero fields keep earlier values",
			chunks: []string{
				gemChunk(`"promptTokenCount": 31, "candidatesTokenCount": 7, "thoughtsTokenCount": 40, "cachedContentTokenCount": 16, "totalTokenCount": 78`, ""),
				gemChunk(`"promptTokenCount": 31, "candidatesTokenCount": 19, "thoughtsTokenCount": 0, "totalTokenCount": 90`, ""),
				`{"usageMetadata": {}}`,
			},
			want: Usage{InputTokens: 31, OutputTokens: 59, CacheReadTokens: 16, ReasoningTokens: 40, TotalTokens: 90, ProviderTotal: 90},
		},
		{
			name:   "tool-use prompt tokens are input, thoughts are output",
			chunks: []string{gemChunk(`"promptTokenCount": 40, "toolUsePromptTokenCount": 310, "candidatesTokenCount": 95, "thoughtsTokenCount": 120, "totalTokenCount": 565`, "")},
			want:   Usage{InputTokens: 350, OutputTokens: 215, ReasoningTokens: 120, TotalTokens: 565, ProviderTotal: 565},
		},
		{
			name:   "a disagreeing provider total is flagged, ours kept",
			chunks: []string{gemChunk(`"promptTokenCount": 10, "candidatesTokenCount": 20, "thoughtsTokenCount": 30, "totalTokenCount": 30`, "")},
			want:   Usage{InputTokens: 10, OutputTokens: 50, ReasoningTokens: 30, TotalTokens: 60, ProviderTotal: 30, TotalMismatch: true},
		},
		{
			name:   "non-numbers are not counts",
			chunks: []string{gemChunk(`"promptTokenCount": "12", "candidatesTokenCount": null, "thoughtsTokenCount": -4, "totalTokenCount": 7`, "")},
			want:   Usage{ProviderTotal: 7, TotalMismatch: true},
		},
	}
	for _, c := range cases {
		p := newGemini()
		feedGemini(p, c.chunks...)
		checkCounts(t, c.name, p.Result().Usage, c.want)
	}
}

func TestGeminiRawAndReported(t *testing.T) {
	p := newGemini()
	feedGemini(p, `{"usageMetadata": {"trafficType": "ON_DEMAND"}}`)
	if r := p.Result(); r.Usage.Reported || r.Vendor != "vertex" {
		t.Fatalf("trafficType alone: reported %v vendor %q", r.Usage.Reported, r.Vendor)
	}
	feedGemini(p,
		gemChunk(`"promptTokenCount": 83, "totalTokenCount": 187, "thoughtsTokenCount": 104`, ""),
		gemChunk(`"promptTokenCount": 83, "candidatesTokenCount": 14, "totalTokenCount": 201, "thoughtsTokenCount": 104`, ""))
	want := []RawCount{
		{"usageMetadata.promptTokenCount", 83}, {"usageMetadata.totalTokenCount", 201},
		{"usageMetadata.thoughtsTokenCount", 104}, {"usageMetadata.candidatesTokenCount", 14},
	}
	if r := p.Result(); !r.Usage.Reported || !reflect.DeepEqual(r.Usage.Raw, want) {
		t.Fatalf("Raw:\n got %v\nwant %v", r.Usage.Raw, want)
	}
}

func TestGeminiErrors(t *testing.T) {
	cases := []struct {
		data               string
		wantType, wantCode string
		wantStatus         int
		wantMessage        string
	}{
		{`{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}`, "RESOURCE_EXHAUSTED", "429", 429, "quota"},
		{`{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT", "details": []}}`, "INVALID_ARGUMENT", "400", 400, "bad"},
		{`{"error": {"status": "UNAVAILABLE", "message": "overloaded"}}`, "UNAVAILABLE", "", 503, "overloaded"},
		{`{"error": {"code": 500, "message": "Internal error encountered."}}`, "error", "500", 500, "Internal error encountered."},
		{`[{"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}}]`, "RESOURCE_EXHAUSTED", "429", 429, "Resource exhausted."},
	}
	for _, c := range cases {
		for _, api := range []string{"stream", "body"} {
			p := newGemini()
			var k Kind
			if api == "stream" {
				k = p.Message(nil, []byte(c.data))
			} else {
				k = p.Body([]byte(c.data))
			}
			r := p.Result()
			want := Error{Type: c.wantType, Code: c.wantCode, Message: c.wantMessage, Status: c.wantStatus}
			if k != KindError || r.Err != want || r.Completed {
				t.Errorf("%s %s: kind %v err %+v completed %v", api, c.data, k, r.Err, r.Completed)
			}
		}
	}
}

func TestGeminiErrorMidStreamKeepsUsageAndFirstError(t *testing.T) {
	p := newGemini()
	long := strings.Repeat("é", MaxErrorMessage)
	kinds := []Kind{
		p.Message(nil, []byte(gemChunk(`"promptTokenCount": 25, "candidatesTokenCount": 5, "totalTokenCount": 30`, ""))),
		p.Message(nil, []byte(`{"error": {"code": 503, "message": "`+long+`", "status": "UNAVAILABLE"}}`)),
		p.Message(nil, []byte(`{"error": {"code": 429, "message": "later", "status": "RESOURCE_EXHAUSTED"}}`)),
	}
	r := p.Result()
	if !reflect.DeepEqual(kinds, []Kind{KindMeaningful, KindError, KindError}) ||
		r.Err.Status != 503 || len(r.Err.Message) > MaxErrorMessage || !strings.HasPrefix(long, r.Err.Message) ||
		r.Usage.TotalTokens != 30 || r.Completed {
		t.Fatalf("kinds %v result %+v", kinds, *r)
	}
}

func TestGeminiCompletion(t *testing.T) {
	cases := []struct {
		name      string
		chunks    []string
		completed bool
		finish    string
	}{
		{"no finishReason yet", []string{gemChunk(`"promptTokenCount": 9`, "")}, false, ""},
		{"finishReason completes", []string{gemChunk(`"promptTokenCount": 9`, ""), gemChunk(`"promptTokenCount": 9`, `"finishReason": "MAX_TOKENS"`)}, true, "MAX_TOKENS"},
		{"first finishReason kept", []string{gemChunk("", `"finishReason": "STOP"`), gemChunk("", `"finishReason": "OTHER"`)}, true, "STOP"},
		{"a nested finishReason key is not one", []string{`{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"finishReason": "STOP"}}}]}}]}`}, false, ""},
		{"a later candidate's reason", []string{`{"candidates": [{"index": 0}, {"index": 1, "finishReason": "SAFETY"}]}`}, true, "SAFETY"},
		{"prompt blocked", []string{`{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 17, "totalTokenCount": 17}}`}, true, "prompt_blocked:PROHIBITED_CONTENT"},
		{"feedback without a block", []string{`{"promptFeedback": {"safetyRatings": []}}`}, false, ""},
	}
	for _, c := range cases {
		p := newGemini()
		feedGemini(p, c.chunks...)
		if r := p.Result(); r.Completed != c.completed || r.FinishReason != c.finish {
			t.Errorf("%s: completed %v finish %q", c.name, r.Completed, r.FinishReason)
		}
	}
}

func TestGeminiBody(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		kind      Kind
		completed bool
		output    uint64
	}{
		{"response", gemChunk(`"promptTokenCount": 4, "candidatesTokenCount": 6`, `"finishReason": "STOP"`), KindMeaningful, true, 6},
		{"prompt blocked", `{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}`, KindMeaningful, true, 0},
		{"whole streamed array", "[" + gemChunk(`"candidatesTokenCount": 2`, "") + ",\r\n" + gemChunk(`"candidatesTokenCount": 6`, `"finishReason": "STOP"`) + "]", KindMeaningful, true, 6},
		{"error", `{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}`, KindError, false, 0},
		{"empty", "\n", KindIgnored, false, 0},
		{"empty object", "{}", KindIgnored, false, 0},
		{"html", "<html>503</html>", KindMalformed, false, 0},
	}
	for _, c := range cases {
		p := newGemini()
		k := p.Body([]byte(c.body))
		r := p.Result()
		if k != c.kind || r.Completed != c.completed || r.Usage.OutputTokens != c.output {
			t.Errorf("%s: kind %v completed %v output %d", c.name, k, r.Completed, r.Usage.OutputTokens)
		}
	}
}

func TestGeminiVendor(t *testing.T) {
	for data, want := range map[string]string{
		gemChunk(`"promptTokenCount": 1`, ""):                                                 "",
		`{"createTime": "2025-08-14T09:12:44Z", "modelVersion": "gemini-2.5-pro"}`:            "vertex",
		`{"usageMetadata": {"promptTokenCount": 1, "trafficType": "PROVISIONED_THROUGHPUT"}}`: "vertex",
	} {
		p := newGemini()
		p.Message(nil, []byte(data))
		if got := p.Result().Vendor; got != want {
			t.Errorf("%s: vendor %q, want %q", data, got, want)
		}
	}
}

func TestGeminiMalformedChangesNothing(t *testing.T) {
	p := newGemini()
	feedGemini(p, gemChunk(`"promptTokenCount": 9, "totalTokenCount": 9`, ""))
	full := gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 99, "totalTokenCount": 108`, `"finishReason": "STOP"`)
	for _, data := range []string{full[:len(full)-1], full[:strings.Index(full, "modelVersion")], "{" + full} {
		var k Kind
		checkStepInvariants(t, p, func() Kind { k = p.Message(nil, []byte(data)); return k })
		if k != KindMalformed {
			t.Errorf("%s: kind %v", data, k)
		}
	}
}

func TestGeminiReset(t *testing.T) {
	p := New(APIGemini)
	feedGemini(p, gemChunk(`"promptTokenCount": 50, "toolUsePromptTokenCount": 7, "candidatesTokenCount": 9`, `"finishReason": "STOP"`),
		`{"error": {"code": 500}}`, `{"createTime": "x"}`)
	raw := p.Result().Usage.Raw
	p.Reset()
	r := p.Result()
	if !reflect.DeepEqual(*r, Result{Usage: Usage{Raw: raw[:0]}}) {
		t.Fatalf("after Reset: %+v", *r)
	}
	// Figures of the previous response must not leak into this one.
	feedGemini(p, `{"usageMetadata": {"thoughtsTokenCount": 3}}`)
	if u := r.Usage; u.InputTokens != 0 || u.OutputTokens != 3 {
		t.Fatalf("second response: %+v", u)
	}
}

// TestGeminiFastPathIsExact replays every Gemini fixture, and messages
// made to probe the fast path's limits, with the fast path on and off: each
// message and body must give the same kind and leave the same Result.
func TestGeminiFastPathIsExact(t *testing.T) {
	var stream [][]byte
	for _, m := range fixtureMessages(t, "gemini") {
		stream = append(stream, m.data)
	}
	probes := [][]byte{}
	for _, s := range []string{
		gemChunk(`"promptTokenCount": 9, "totalTokenCount": 9`, ""),
		gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 5, "thoughtsTokenCount": 2, "totalTokenCount": 16`, `"finishReason": "STOP"`),
		`{"usageMetadata": {"promptTokenCount": 9}, "usageMetadata": {"candidatesTokenCount": 0}}`,
		`{"modelVersion": "", "modelVersion": "m2"}`,
		`{"modelVersion": "m\u0031", "usageMetadata": 5}`,
		`{"usageMetadata": {"promptTokenCount": 9007199254740993, "candidatesTokenCount": 1.0, "totalTokenCount": -1, "thoughtsTokenCount": 1e2}}`,
		`{"usageMetadata": {"promptTokenCount": 9, "trafficType": "ON_DEMAND"}, "createTime": "x"}`,
		`{"candidates": [{"content": {"parts": [{"text": "\"finishReason\": \"STOP\""}]}}], "usageMetadata": {"promptTokenCount": 3}}`,
		`{"candidates": [{"content": {"parts": [{"text": "finishReason"}]}, "finishReason": "STOP"}]}`,
		`{"responseId": "abc", "somethingNew": 1}`,
		`{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"finishReason": "x"}}}]}}], "usageMetadata": {"promptTokenCount": 3}}`,
		`{"candidates": [[{"finishReason": "STOP"}]], "other": {"finishReason": "STOP"}}`,
		`{"other": {"promptTokenCount": 5}, "usageMetadata": {"candidatesTokenCount": 2}, "after": {"totalTokenCount": 8}}`,
		`{"usageMetadata": {` + strings.Repeat(`"x": 1, `, 20) + `"promptTokenCount": 11, "trafficType": "ON_DEMAND"}}`,
		`{"usageMetadata": {` + strings.Repeat(`"promptTokenCount": 1, `, maxUsageCounts-1) + `"promptTokenCount": 12}}`,
		`{"usageMetadata": {` + strings.Repeat(`"promptTokenCount": 1, `, maxUsageCounts) + `"promptTokenCount": 13}}`,
		`{"usageMetadata": {"promptTokenCount": 0, "promptTokenCount": 4, "candidatesTokenCount": 3, "candidatesTokenCount": 0}}`,
		`{"usageMetadata": {"promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}], "promptTokenCount": "9"}}`,
		`{"promptFeedback": {"blockReason": "SAFETY"}}`,
		`{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}`,
		gemChunk(`"promptTokenCount": 9`, "")[:60],
		"{" + gemChunk(`"promptTokenCount": 9`, ""),
	} {
		probes = append(probes, []byte(s))
	}
	bodies, _ := filepath.Glob(filepath.Join("testdata", "gemini", "*.json"))
	fastMessages := 0
	for _, msgs := range [][][]byte{stream, probes} {
		fast, slow := newGemini().(*gemini), &gemini{slow: true}
		for _, msg := range msgs {
			var n geminiNotes
			if walkObject(msg, geminiNoteDepth, &n) {
				fastMessages++
			}
			kf, ks := fast.Message(nil, msg), slow.Message(nil, msg)
			if kf != ks || !sameResult(fast.res, slow.res) {
				t.Errorf("%s:\nfast path kind %v %+v\nfull path kind %v %+v", msg, kf, fast.res, ks, slow.res)
			}
		}
	}
	for _, path := range bodies {
		body := readFixture(t, path)
		fast, slow := newGemini().(*gemini), &gemini{slow: true}
		if kf, ks := fast.Body(body), slow.Body(body); kf != ks || !sameResult(fast.res, slow.res) {
			t.Errorf("%s:\nfast path kind %v %+v\nfull path kind %v %+v", path, kf, fast.res, ks, slow.res)
		}
	}
	if fastMessages < len(stream)/2 {
		t.Fatalf("only %d of %d fixture messages took the fast path", fastMessages, len(stream))
	}
}

func TestGeminiChunksDoNotAllocate(t *testing.T) {
	p := newGemini()
	chunk := []byte(gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14, "promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]`, ""))
	p.Message(nil, chunk)
	if allocs := testing.AllocsPerRun(100, func() { p.Message(nil, chunk) }); allocs != 0 {
		t.Fatalf("%v allocations per chunk", allocs)
	}
}

func FuzzGeminiMessage(f *testing.F) {
	for _, s := range []string{
		gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 5, "thoughtsTokenCount": 2, "totalTokenCount": 16`, `"finishReason": "STOP"`),
		`{"promptFeedback": {"blockReason": "SAFETY"}}`,
		`{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}`,
		`[{"error": {"code": 429}}]`,
		`{"createTime": "x", "usageMetadata": {"trafficType": "ON_DEMAND"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		p := newGemini()
		p.Message(nil, []byte(gemChunk(`"promptTokenCount": 9, "totalTokenCount": 9`, "")))
		checkStepInvariants(t, p, func() Kind { return p.Message(nil, []byte(data)) })
		q := newGemini()
		checkStepInvariants(t, q, func() Kind { return q.Body([]byte(data)) })
		// The fast path must read every message exactly as the full one.
		fast, slow := newGemini().(*gemini), &gemini{slow: true}
		for _, msg := range []string{gemChunk(`"promptTokenCount": 9, "candidatesTokenCount": 2`, ""), data} {
			if kf, ks := fast.Message(nil, []byte(msg)), slow.Message(nil, []byte(msg)); kf != ks || !sameResult(fast.res, slow.res) {
				t.Fatalf("%s: fast path kind %v %+v, full path kind %v %+v", msg, kf, fast.res, ks, slow.res)
			}
		}
	})
}

// BenchmarkGeminiStream replays a realistic 200-chunk alt=sse stream, where
// every chunk carries text, a usageMetadata snapshot and the model version.
func BenchmarkGeminiStream(b *testing.B) {
	var events []anthropicEvent // Gemini events have no name
	words := strings.Fields("the proxy meters every call so that platform teams can bill on exact numbers for each provider")
	for i := range 200 {
		finish := ""
		if i == 199 {
			finish = `"finishReason": "STOP"`
		}
		usage := `"promptTokenCount": 412,"candidatesTokenCount": ` + strconv.Itoa(3*i+3) + `,"totalTokenCount": ` + strconv.Itoa(412+3*i+3) +
			`,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 412}]`
		chunk := strings.Replace(gemChunk(usage, finish), "some text", words[i%len(words)]+" and then some more words", 1)
		events = append(events, anthropicEvent{"", chunk})
	}
	benchmarkStream(b, New(APIGemini), events)
}
