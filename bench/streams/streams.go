// Package streams generates the realistic response streams every benchmark
// of tokenmeter feeds: one OpenAI Chat Completions, one Anthropic Messages
// and one Gemini (alt=sse) stream of a few hundred events each, shaped like
// the fixtures in parsers/testdata and sized like real answers. Generation
// is deterministic (a seeded PCG), so the native Go, V8 and Python
// measurements of one run, and runs on different days, see the same bytes.
package streams

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Stream is one response body and the request that asks for it.
type Stream struct {
	Name        string // short name used in tables: openai, anthropic, gemini
	API         string // parsers.API name of the wire format
	Path        string // request path, as a client sends it
	Host        string // request :authority
	ContentType string // response content-type
	Body        []byte
	// EventEnds holds the offset just past each event's terminating blank
	// line, so a host can deliver the body one event per callback.
	EventEnds []int
}

// Events is the number of events in the stream.
func (s *Stream) Events() int { return len(s.EventEnds) }

// EventChunks cuts the body into one piece per event, without copying.
func (s *Stream) EventChunks() [][]byte {
	cs := make([][]byte, 0, len(s.EventEnds))
	start := 0
	for _, end := range s.EventEnds {
		cs = append(cs, s.Body[start:end])
		start = end
	}
	return cs
}

// FixedChunks cuts the body into size-byte pieces (the last may be
// shorter), as Envoy delivers a fast upstream's body, without copying.
func (s *Stream) FixedChunks(size int) [][]byte {
	var cs [][]byte
	for b := s.Body; len(b) > 0; b = b[min(size, len(b)):] {
		cs = append(cs, b[:min(size, len(b))])
	}
	return cs
}

// Lengthened returns s with the events between its first and its last
// three repeated n times over: a long answer with the same head and end,
// for measuring the cost of a stream's length apart from the cost of a
// call. Its usage figures are the original's.
func (s *Stream) Lengthened(n int) Stream {
	first, end := s.EventEnds[0], s.EventEnds[len(s.EventEnds)-4]
	long := *s
	long.Name = s.Name + "_long"
	long.Body = append(append(s.Body[:first:first], bytes.Repeat(s.Body[first:end], n)...), s.Body[end:]...)
	long.EventEnds = append([]int(nil), s.EventEnds[0])
	for r := range n {
		for _, e := range s.EventEnds[1 : len(s.EventEnds)-3] {
			long.EventEnds = append(long.EventEnds, e+r*(end-first))
		}
	}
	for _, e := range s.EventEnds[len(s.EventEnds)-3:] {
		long.EventEnds = append(long.EventEnds, e+(n-1)*(end-first))
	}
	return long
}

// All returns the three benchmark streams, generated afresh.
func All() []Stream {
	return []Stream{OpenAIChat(), Anthropic(), Gemini()}
}

// builder accumulates a body and records where each event ends.
type builder struct {
	sb   strings.Builder
	ends []int
}

func (b *builder) event(s string) {
	b.sb.WriteString(s)
	b.ends = append(b.ends, b.sb.Len())
}

func (b *builder) stream(name, api, path, host string) Stream {
	return Stream{
		Name: name, API: api, Path: path, Host: host,
		ContentType: "text/event-stream",
		Body:        []byte(b.sb.String()),
		EventEnds:   b.ends,
	}
}

// prose yields deterministic text: mostly short English words, with the
// JSON escapes, punctuation and multi-byte UTF-8 that real answers carry.
type prose struct{ r *rand.Rand }

var lexicon = strings.Fields(`a an the of to in and or is are was be it this that with for on as at by
from not but can will would should could we you they he she them our your their its model token
request stream proxy meter usage count cost price budget team platform call answer question data
result value field event chunk line byte user system tool function weather Tokyo Paris Berlin
however because therefore which while where when what how why yes no maybe first second third
Schrödinger naïve café résumé 東京 データ 😀 Ω≈ç`)

var garnish = []string{`,`, `.`, `\n`, `\n\n`, `:`, ` \"quoted\"`, `\t`, ` -`, `!`, `?`}

func newProse(seed uint64) *prose { return &prose{rand.New(rand.NewPCG(seed, 0x746f6b656e))} }

// words returns n words of JSON-escaped text with a leading space now and then.
func (p *prose) words(n int) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 || p.r.IntN(3) > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(lexicon[p.r.IntN(len(lexicon))])
		if p.r.IntN(12) == 0 {
			sb.WriteString(garnish[p.r.IntN(len(garnish))])
		}
	}
	return sb.String()
}

// id returns n characters of a base-62 identifier.
func (p *prose) id(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[p.r.IntN(len(alphabet))]
	}
	return string(b)
}

// OpenAIChat is a Chat Completions stream with stream_options.include_usage,
// as in parsers/testdata/openai_chat/openai_include_usage.sse: a role chunk,
// 300 content chunks of one to four tokens with obfuscation padding, the
// finish chunk, the usage chunk (empty choices) and [DONE]: 304 events.
func OpenAIChat() Stream {
	p := newProse(1)
	var b builder
	prefix := `data: {"id":"chatcmpl-` + p.id(29) + `","object":"chat.completion.chunk","created":1755137737,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[`
	chunk := func(choice, usage string) {
		b.event(prefix + choice + `],"usage":` + usage + `,"obfuscation":"` + p.id(1+p.r.IntN(14)) + "\"}\n\n")
	}
	chunk(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`, "null")
	for range 300 {
		chunk(`{"index":0,"delta":{"content":"`+p.words(1+p.r.IntN(4))+`"},"logprobs":null,"finish_reason":null}`, "null")
	}
	chunk(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`, "null")
	chunk("", `{"prompt_tokens":1834,"completion_tokens":731,"total_tokens":2565,"prompt_tokens_details":{"cached_tokens":1536,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`)
	b.event("data: [DONE]\n\n")
	return b.stream("openai", "openai_chat", "/v1/chat/completions", "api.openai.com")
}

// Anthropic is a Messages stream as in
// parsers/testdata/anthropic/stream_cache_read.sse: message_start with
// cached input, a text block of 400 deltas with a ping every 80, a
// message_delta with the output count and message_stop: 411 events.
func Anthropic() Stream {
	p := newProse(2)
	var b builder
	ev := func(name, data string) { b.event("event: " + name + "\ndata: " + data + "\n\n") }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_01`+p.id(22)+`","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":312,"cache_creation_input_tokens":0,"cache_read_input_tokens":4096,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":2,"service_tier":"standard"}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	for i := range 400 {
		if i%80 == 40 {
			ev("ping", `{"type": "ping"}`)
		}
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+p.words(2+p.r.IntN(6))+`"}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1687}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return b.stream("anthropic", "anthropic_messages", "/v1/messages", "api.anthropic.com")
}

// Gemini is a streamGenerateContent?alt=sse body as in
// parsers/testdata/gemini/sse_crlf_stream.sse: CRLF line ends, 200 chunks
// of 6 to 30 words, each with cumulative usageMetadata, the last with
// finishReason: 200 events.
func Gemini() Stream {
	p := newProse(3)
	var b builder
	const n, prompt, thoughts = 200, 958, 344
	responseID := p.id(23)
	for i := range n {
		finish := ""
		if i == n-1 {
			finish = `,"finishReason": "STOP"`
		}
		out := 9 * (i + 1)
		b.event(`data: {"candidates": [{"content": {"parts": [{"text": "` + p.words(6+p.r.IntN(25)) + `"}],"role": "model"}` + finish + `,"index": 0}],"usageMetadata": {"promptTokenCount": ` + strconv.Itoa(prompt) +
			`,"candidatesTokenCount": ` + strconv.Itoa(out) + `,"totalTokenCount": ` + strconv.Itoa(prompt+out+thoughts) +
			`,"promptTokensDetails": [{"modality": "TEXT","tokenCount": ` + strconv.Itoa(prompt) + `}],"thoughtsTokenCount": ` + strconv.Itoa(thoughts) +
			`},"modelVersion": "gemini-2.5-flash","responseId": "` + responseID + "\"}\r\n\r\n")
	}
	return b.stream("gemini", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "generativelanguage.googleapis.com")
}
