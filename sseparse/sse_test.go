package sseparse

import (
	"strings"
	"testing"
)

type sseCase struct {
	name string
	body string
	want []ev
	// Expected counters other than Events (which is len(want)).
	stats Stats
	max   int
}

func (c sseCase) outcome() outcome {
	o := outcome{Events: c.want, Stats: c.stats}
	o.Stats.Events = uint64(len(c.want))
	if c.stats.Oversize > 0 {
		o.Err = ErrEventTooLarge
	}
	return o
}

// WHATWG rules, one or more cases each.
var sseSpecCases = []sseCase{
	{name: "one event", body: "data: hello\n\n", want: []ev{data("hello")}},
	{name: "two events", body: "data: a\n\ndata: b\n\n", want: []ev{data("a"), data("b")}},
	{name: "event type", body: "event: ping\ndata: {}\n\n", want: []ev{{Name: "ping", Data: "{}", Retry: -1}}},
	{name: "type resets after dispatch", body: "event: x\ndata: 1\n\ndata: 2\n\n",
		want: []ev{{Name: "x", Data: "1", Retry: -1}, data("2")}},
	{name: "data lines join with LF", body: "data: a\ndata: b\ndata: c\n\n", want: []ev{data("a\nb\nc")}},
	{name: "CRLF", body: "data: a\r\n\r\ndata: b\r\n\r\n", want: []ev{data("a"), data("b")}},
	{name: "lone CR", body: "data: a\r\rdata: b\rdata: c\r\r", want: []ev{data("a"), data("b\nc")}},
	{name: "mixed terminators", body: "event: e\r\ndata: a\rdata: b\n\r\n", want: []ev{{Name: "e", Data: "a\nb", Retry: -1}}},
	{name: "CRLF is one terminator, not an empty line", body: "data: a\r\ndata: b\r\n\r\n", want: []ev{data("a\nb")}},
	{name: "LF CR is two terminators", body: "data: a\n\rdata: b\n\n", want: []ev{data("a"), data("b")}},
	{name: "BOM at start dropped", body: "\xEF\xBB\xBFdata: a\n\n", want: []ev{data("a")}},
	{name: "BOM only once", body: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []ev{data("b")}},
	{name: "BOM later is data", body: "data: \xEF\xBB\xBFa\n\n", want: []ev{data("\xEF\xBB\xBFa")}},
	{name: "partial BOM is data", body: "\xEF\xBBdata: a\n\ndata: b\n\n", want: []ev{data("b")}},
	{name: "partial BOM at end", body: "data: a\n\n\xEF\xBB", want: []ev{data("a")}},
	{name: "body is a partial BOM", body: "\xEF", want: nil},
	{name: "comment ignored", body: ": keep-alive\n: OPENROUTER PROCESSING\ndata: a\n:x\n\n", want: []ev{data("a")}},
	{name: "no colon: name only, empty value", body: "data\n\n", want: []ev{data("")}},
	{name: "no colon event resets type", body: "event: x\nevent\ndata: a\n\n", want: []ev{data("a")}},
	{name: "one leading space stripped", body: "data:  two\n\ndata:none\n\ndata:\ttab\n\n",
		want: []ev{data(" two"), data("none"), data("\ttab")}},
	{name: "first colon splits", body: "data: a:b: c\n\n", want: []ev{data("a:b: c")}},
	{name: "names are case-sensitive", body: "Data: a\nDATA: b\nEvent: c\n\ndata: d\n\n", want: []ev{data("d")}},
	{name: "unknown fields ignored", body: "foo: bar\ndata: a\nx\n\n", want: []ev{data("a")}},
	{name: "lone data gives empty event", body: "data:\n\n", want: []ev{data("")}},
	{name: "two empty data lines", body: "data:\ndata:\n\n", want: []ev{data("\n")}},
	{name: "trailing empty data line", body: "data: a\ndata:\n\n", want: []ev{data("a\n")}},
	{name: "event without data dispatches nothing", body: "event: a\n\nevent: b\nid: 1\nretry: 5\n\n", want: nil},
	{name: "empty lines alone", body: "\n\n\r\n\r\r", want: nil},
	{name: "id persists", body: "id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n",
		want: []ev{{Data: "a", ID: "7", Retry: -1}, {Data: "b", ID: "7", Retry: -1}, {Data: "c", ID: "8", Retry: -1}}},
	{name: "id set by an event without data", body: "id: 3\n\ndata: a\n\n", want: []ev{{Data: "a", ID: "3", Retry: -1}}},
	{name: "id with NUL ignored", body: "id: 1\n\nid: 2\x003\ndata: a\n\n", want: []ev{{Data: "a", ID: "1", Retry: -1}}},
	{name: "empty id clears", body: "id: 1\ndata: a\n\nid\ndata: b\n\n",
		want: []ev{{Data: "a", ID: "1", Retry: -1}, data("b")}},
	{name: "retry digits", body: "retry: 1500\ndata: a\n\ndata: b\n\n",
		want: []ev{{Data: "a", Retry: 1500}, data("b")}},
	{name: "retry not digits ignored", body: "retry: 15x\ndata: a\n\nretry: -1\ndata: b\n\nretry:\ndata: c\n\nretry:  5\ndata: d\n\n",
		want: []ev{data("a"), data("b"), data("c"), data("d")}},
	{name: "retry huge saturates", body: "retry: 99999999999999999999999\ndata: a\n\n",
		want: []ev{{Data: "a", Retry: 1<<63 - 1}}},
	{name: "unterminated last event flushed", body: "data: a\n\ndata: b",
		want: []ev{data("a"), data("b")}, stats: Stats{Unterminated: true}},
	{name: "last event missing its empty line", body: "event: message_stop\ndata: {\"type\":\"message_stop\"}\n",
		want: []ev{{Name: "message_stop", Data: `{"type":"message_stop"}`, Retry: -1}}, stats: Stats{Unterminated: true}},
	{name: "unterminated after CR", body: "data: a\r", want: []ev{data("a")}, stats: Stats{Unterminated: true}},
	{name: "unterminated event without data", body: "data: a\n\nevent: x\n", want: []ev{data("a")}},
	{name: "UTF-8 kept as bytes", body: "data: héllo 世界 🎉\n\n", want: []ev{data("héllo 世界 🎉")}},
	{name: "invalid UTF-8 kept as bytes", body: "data: \xff\xfe\n\n", want: []ev{data("\xff\xfe")}},
	{name: "NUL in data", body: "data: a\x00b\n\n", want: []ev{data("a\x00b")}},
	{name: "DONE marker is data", body: "data: [DONE]\n\n", want: []ev{data("[DONE]")}},
	{name: "space before colon is part of the name", body: "data : a\n\n", want: nil},
}

// Leniencies for real LLM endpoints.
var sseLenientCases = []sseCase{
	{name: "raw pretty-printed error between events",
		body: "data: {\"a\":1}\r\n\r\n{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"overloaded {\\\"x\\\"}\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\ndata: {\"b\":2}\n\n",
		want: []ev{data(`{"a":1}`),
			{Data: "{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"overloaded {\\\"x\\\"}\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}", Retry: -1, Raw: true},
			data(`{"b":2}`)}},
	{name: "raw object CRLF lines", body: "{\r\n  \"error\": {\"code\": 429}\r\n}\r\n",
		want: []ev{{Data: "{\n  \"error\": {\"code\": 429}\n}", Retry: -1, Raw: true}}},
	{name: "raw object on one line", body: "{\"error\":{\"code\":500}}\n\ndata: x\n\n",
		want: []ev{{Data: `{"error":{"code":500}}`, Retry: -1, Raw: true}, data("x")}},
	{name: "raw object indented", body: "  {\"error\": \"}\"}\n",
		want: []ev{{Data: `{"error": "}"}`, Retry: -1, Raw: true}}},
	{name: "raw object ends a pending event", body: "event: e\ndata: a\n{\"error\":1}\ndata: b\n\n",
		want: []ev{{Name: "e", Data: "a", Retry: -1}, {Data: `{"error":1}`, Retry: -1, Raw: true}, data("b")}},
	{name: "raw object carries the last id", body: "id: 9\ndata: a\n\n{\"e\":\n1}\n",
		want: []ev{{Data: "a", ID: "9", Retry: -1}, {Data: "{\"e\":\n1}", ID: "9", Retry: -1, Raw: true}}},
	{name: "raw object trailing junk", body: "{\"a\":1} x}\ndata: b\n\n",
		want: []ev{{Data: `{"a":1}`, Retry: -1, Raw: true}, data("b")}, stats: Stats{Malformed: 2}},
	{name: "stray brace dropped at empty line", body: "{\n\"a\nb\n\ndata: x\n\n",
		want: []ev{data("x")}, stats: Stats{Malformed: 4}},
	{name: "stray brace dropped at a field", body: "{\ndata: x\n\nevent: e\n{ [\nevent: f\ndata: y\n\n",
		want: []ev{data("x"), {Name: "f", Data: "y", Retry: -1}}, stats: Stats{Malformed: 3}},
	{name: "unclosed raw object at end of stream", body: "data: a\n\n{\"error\": {",
		want: []ev{data("a")}, stats: Stats{Malformed: 10}},
	{name: "event and data on one line",
		body: "event: message_delta data: {\"type\":\"message_delta\"}\n\nevent: x data:y\n\n",
		want: []ev{{Name: "message_delta", Data: `{"type":"message_delta"}`, Retry: -1}, {Name: "x", Data: "y", Retry: -1}}},
	{name: "event value with spaces but no data", body: "event: a b\ndata: c\n\n",
		want: []ev{{Name: "a b", Data: "c", Retry: -1}}},
	{name: "consecutive JSON data lines split",
		body: "event: e\ndata: {\"a\":1}\ndata: {\"b\":\"}\"}\ndata:{\"c\":3}  \n\n",
		want: []ev{{Name: "e", Data: `{"a":1}`, Retry: -1}, {Name: "e", Data: `{"b":"}"}`, Retry: -1}, {Name: "e", Data: `{"c":3}  `, Retry: -1}}},
	{name: "multi-line JSON in data lines joined",
		body: "data: {\ndata:   \"a\": 1\ndata: }\n\n", want: []ev{data("{\n  \"a\": 1\n}")}},
	{name: "multi-line JSON then a complete object",
		body: "data: {\"a\":\ndata: 1}\ndata: {\"b\":2}\n\n", want: []ev{data("{\"a\":\n1}"), data(`{"b":2}`)}},
	{name: "object then incomplete line joined",
		body: "data: {\"a\":1}\ndata: {\"b\":\ndata: 2}\n\n", want: []ev{data("{\"a\":1}\n{\"b\":\n2}")}},
	{name: "object then text joined", body: "data: {}\ndata: x\n\n", want: []ev{data("{}\nx")}},
	{name: "text then object joined", body: "data: x\ndata: {}\n\n", want: []ev{data("x\n{}")}},
	{name: "arrays are not split", body: "data: [1]\ndata: [2]\n\n", want: []ev{data("[1]\n[2]")}},
	{name: "split event at end of stream", body: "data: {}\ndata: {}",
		want: []ev{data("{}"), data("{}")}, stats: Stats{Unterminated: true}},
}

// The size bound.
var sseOversizeCases = []sseCase{
	{name: "exactly the maximum", max: 4, body: "data: abcd\n\n", want: []ev{data("abcd")}},
	{name: "data too large, resume at empty line", max: 4,
		body: "data: a\n\ndata: abcde\ndata: x\nevent: e\n\ndata: b\n\n",
		want: []ev{data("a"), data("b")}, stats: Stats{Oversize: 1}},
	{name: "joined data too large", max: 4, body: "data: ab\ndata: cd\n\ndata: ok\n\n",
		want: []ev{data("ok")}, stats: Stats{Oversize: 1}},
	{name: "joined data exactly the maximum", max: 5, body: "data: ab\ndata: cd\n\n", want: []ev{data("ab\ncd")}},
	{name: "long line, CRLF", max: 4, body: "data: 0123456789012345678901234567890123456789\r\n\r\ndata: b\r\n\r\n",
		want: []ev{data("b")}, stats: Stats{Oversize: 1}},
	{name: "event type too large", max: 4, body: "event: abcdefghijklmnop\ndata: a\n\ndata: b\n\n",
		want: []ev{data("b")}, stats: Stats{Oversize: 1}},
	{name: "id too large is dropped with its event", max: 4, body: "id: 1\n\nid: 1234567890123456\ndata: a\n\ndata: b\n\n",
		want: []ev{{Data: "b", ID: "1", Retry: -1}}, stats: Stats{Oversize: 1}},
	{name: "long comment is not an event", max: 4, body: ": 0123456789012345678901234567890123\ndata: a\n\n",
		want: []ev{data("a")}},
	{name: "long unknown field is not an event", max: 4, body: "0123456789012345678901234567890123: x\ndata: a\n\n",
		want: []ev{data("a")}},
	{name: "raw object too large", max: 8, body: "{\n\"error\": 123456789\n}\n\ndata: a\n\n",
		want: []ev{data("a")}, stats: Stats{Oversize: 1}},
	{name: "oversize at end of stream", max: 4, body: "data: a\n\ndata: 0123456789",
		want: []ev{data("a")}, stats: Stats{Oversize: 1}},
	{name: "two oversize events", max: 2, body: "data: abc\n\ndata: de\n\ndata: fgh\n\n",
		want: []ev{data("de")}, stats: Stats{Oversize: 2}},
}

func TestSSE(t *testing.T) {
	for _, group := range [][]sseCase{sseSpecCases, sseLenientCases, sseOversizeCases} {
		for _, c := range group {
			t.Run(c.name, func(t *testing.T) {
				checkChunkings(t, func() Framer { return NewSSE(c.max) }, c.body, c.outcome())
			})
		}
	}
}

// TestSSEReset checks a reused decoder forgets the last body entirely,
// including the last event ID and a half-read event.
func TestSSEReset(t *testing.T) {
	d := NewSSE(0)
	first := run(d, [][]byte{[]byte("id: 1\ndata: a\n\ndata: half")})
	if len(first.Events) != 2 {
		t.Fatalf("first body: %v", first)
	}
	d.Reset()
	d.Feed([]byte("\xEF\xBB\xBFdata: b\n\n"))
	var e Event
	if !d.Next(&e) || string(e.Data) != "b" || e.ID != nil || e.Retry != -1 {
		t.Fatalf("after Reset got %q id %q", e.Data, e.ID)
	}
	if s := d.Stats(); s != (Stats{Events: 1}) {
		t.Fatalf("stats after Reset: %+v", s)
	}
}

// TestSSEZeroCopy checks that an event read within one chunk aliases the
// chunk rather than being copied: that is what keeps the decoder cheap.
func TestSSEZeroCopy(t *testing.T) {
	chunk := []byte("event: e\ndata: {\"x\":1}\n\n")
	d := NewSSE(0)
	d.Feed(chunk)
	var e Event
	if !d.Next(&e) {
		t.Fatal("no event")
	}
	if &e.Data[0] != &chunk[15] || &e.Name[0] != &chunk[7] {
		t.Fatal("event data was copied")
	}
}

func TestSSEMaxDefault(t *testing.T) {
	body := "data: " + strings.Repeat("x", DefaultMaxEventSize) + "\n\ndata: " + strings.Repeat("y", DefaultMaxEventSize+1) + "\n\n"
	got := run(NewSSE(0), splitAt([]byte(body), 1000, 1<<20+500))
	if len(got.Events) != 1 || len(got.Events[0].Data) != DefaultMaxEventSize || got.Stats.Oversize != 1 {
		t.Fatalf("got %d events, stats %+v", len(got.Events), got.Stats)
	}
}
