package sseparse

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// esFrame encodes a frame with string headers given as name, value pairs.
func esFrame(payload string, kv ...string) []byte {
	var hs [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	return EncodeEventStreamFrame(hs, []byte(payload))
}

// rawFrame builds a frame around raw header bytes, with correct CRCs, for
// header types and shapes EncodeEventStreamFrame does not produce.
func rawFrame(headers []byte, payload string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(esPrelude+len(headers)+len(payload)+4))
	b = binary.BigEndian.AppendUint32(b, uint32(len(headers)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(append(b, headers...), payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// header encodes one raw header of any type.
func header(name string, typ byte, value ...byte) []byte {
	return append(append(append([]byte{byte(len(name))}, name...), typ), value...)
}

// flip returns a copy of b with byte i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x55
	return c
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func esEvent(name, data string) ev { return ev{Name: name, Data: data, Retry: -1} }

type esCase struct {
	name  string
	body  []byte
	max   int
	want  []ev
	stats Stats // counters other than Events
}

// Two ordinary frames the cases below surround with trouble.
var (
	esA = esFrame(`{"contentBlockIndex":0,"delta":{"text":"Hi"}}`,
		":event-type", "contentBlockDelta", ":content-type", "application/json", ":message-type", "event")
	esB = esFrame(`{"stopReason":"end_turn"}`, ":event-type", "messageStop", ":message-type", "event")
	evA = esEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hi"}}`)
	evB = esEvent("messageStop", `{"stopReason":"end_turn"}`)
)

func eventStreamCases() []esCase {
	strHeader := func(name, v string) []byte {
		return header(name, 7, binary.BigEndian.AppendUint16(nil, uint16(len(v)))...)
	}
	allTypes := cat(
		header("t", 0), header("f", 1), header("b", 2, 9), header("s", 3, 0, 1),
		header("i", 4, 0, 0, 0, 1), header("l", 5, 0, 0, 0, 0, 0, 0, 0, 1),
		header("ba", 6, 0, 3, 'x', 'y', 'z'), header("ts", 8, 0, 0, 1, 2, 3, 4, 5, 6),
		header("id", 9, make([]byte, 16)...),
		append(strHeader(":event-type", "chunk"), "chunk"...),
	)
	quotes := strings.Repeat(`"`, 200)
	cutErr := esFrame("", ":message-type", "error", ":error-code", "E", ":error-message", quotes)
	big := esFrame(`{"text":"`+strings.Repeat("x", 200)+`"}`, ":event-type", "contentBlockDelta")
	// A prelude whose CRC holds but whose headers cannot fit the frame.
	contradict := binary.BigEndian.AppendUint32(nil, 16)
	contradict = binary.BigEndian.AppendUint32(contradict, 5)
	contradict = binary.BigEndian.AppendUint32(contradict, crc32.ChecksumIEEE(contradict))
	contradict = append(contradict, 0, 0, 0, 0)
	return []esCase{
		{name: "one event", body: esA, want: []ev{evA}},
		{name: "frames back to back", body: cat(esA, esB, esA), want: []ev{evA, evB, evA}},
		{name: "no message type is an event", body: esFrame(`{}`, ":event-type", "chunk"), want: []ev{esEvent("chunk", `{}`)}},
		{name: "no headers, no payload", body: rawFrame(nil, ""), want: []ev{esEvent("", "")}},
		{name: "every header type", body: rawFrame(allTypes, `{"bytes":"e30="}`), want: []ev{esEvent("chunk", `{"bytes":"e30="}`)}},
		{name: "byte-array header value", body: rawFrame(header(":event-type", 6, 0, 2, 'o', 'k'), "{}"), want: []ev{esEvent("ok", "{}")}},
		{name: "exception",
			body: cat(esA, esFrame(`{"message":"Too many requests, please wait before trying again."}`,
				":exception-type", "throttlingException", ":content-type", "application/json", ":message-type", "exception")),
			want: []ev{evA, {Name: "throttlingException", Data: `{"message":"Too many requests, please wait before trying again."}`, Retry: -1, MessageType: "exception"}}},
		{name: "error message from its header",
			body: esFrame("ignored", ":message-type", "error", ":error-code", "InternalFailure", ":error-message", "a \"q\" \\ b\n\x01é"),
			want: []ev{{Name: "InternalFailure", Data: `{"message":"a \"q\" \\ b\u000a\u0001é"}`, Retry: -1, MessageType: "error"}}},
		{name: "error without a message", body: esFrame("", ":message-type", "error", ":error-code", "E"),
			want: []ev{{Name: "E", Data: `{"message":""}`, Retry: -1, MessageType: "error"}}},
		{name: "error message cut to the maximum", body: cutErr, max: len(cutErr),
			want: []ev{{Name: "E", Data: `{"message":"` + strings.Repeat(`\"`, (len(cutErr)-14)/2) + `"}`, Retry: -1, MessageType: "error"}}},
		{name: "other message type", body: esFrame(`{}`, ":message-type", "future", ":event-type", "x"),
			want: []ev{{Name: "x", Data: "{}", Retry: -1, MessageType: "future"}}},
		{name: "message CRC wrong: frame skipped by its length", body: cat(flip(esA, len(esA)-10), esB),
			want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "prelude CRC wrong: resync byte by byte", body: cat(flip(esA, 9), esB),
			want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "length wrong: resync byte by byte", body: cat(esB, flip(esA, 3), esB),
			want: []ev{evB, evB}, stats: Stats{Malformed: 1}},
		{name: "junk between frames counts once", body: cat(esA, []byte("junk junk junk junk"), esB),
			want: []ev{evA, evB}, stats: Stats{Malformed: 1}},
		{name: "junk, then a bad frame, counts twice", body: cat(esA, []byte("0123456789abcdef"), flip(esA, len(esA)-5), esB),
			want: []ev{evA, evB}, stats: Stats{Malformed: 2}},
		{name: "lengths contradict", body: cat(contradict, esB), want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "header type unknown", body: cat(rawFrame(header("x", 10), "{}"), esB), want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "header overruns", body: cat(rawFrame(strHeader(":event-type", "chunk"), ""), esB), want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "header name overruns", body: cat(rawFrame([]byte{40, 'a'}, ""), esB), want: []ev{evB}, stats: Stats{Malformed: 1}},
		{name: "oversize skipped unbuffered", body: cat(esA, big, esB), max: len(esA),
			want: []ev{evA, evB}, stats: Stats{Oversize: 1}},
		{name: "oversize cut by the end", body: cat(esA, big[:100]), max: len(esA),
			want: []ev{evA}, stats: Stats{Oversize: 1}},
		{name: "frame cut by the end", body: cat(esA, esB[:len(esB)-3]), want: []ev{evA}, stats: Stats{Malformed: 1}},
		{name: "prelude cut by the end", body: cat(esA, esB[:5]), want: []ev{evA}, stats: Stats{Malformed: 1}},
		{name: "junk at the end", body: cat(esA, []byte("trailing junk here")), want: []ev{evA}, stats: Stats{Malformed: 1}},
		{name: "empty body", body: nil},
	}
}

func TestEventStream(t *testing.T) {
	for _, c := range eventStreamCases() {
		t.Run(c.name, func(t *testing.T) {
			want := outcome{Events: c.want, Stats: c.stats}
			want.Stats.Events = uint64(len(c.want))
			if c.stats.Oversize > 0 {
				want.Err = ErrEventTooLarge
			}
			checkChunkings(t, func() Framer { return NewEventStream(c.max) }, string(c.body), want)
		})
	}
}

// TestEventStreamOversizeNotBuffered checks a frame declaring a huge length
// costs no memory: its bytes are dropped as they arrive.
func TestEventStreamOversizeNotBuffered(t *testing.T) {
	huge := esFrame(strings.Repeat("x", 1<<20), ":event-type", "chunk")
	s := NewEventStream(1024)
	var e Event
	for b := huge; len(b) > 0; b = b[min(4096, len(b)):] {
		s.Feed(b[:min(4096, len(b))])
		for s.Next(&e) {
			t.Fatal("oversize frame emitted")
		}
		if s.bufCap() > 1024 {
			t.Fatalf("buffer grew to %d", s.bufCap())
		}
	}
	s.Feed(esA)
	if !s.Next(&e) || string(e.Name) != "contentBlockDelta" {
		t.Fatalf("frame after the oversize one: %q", e.Name)
	}
}

func TestEncodeEventStreamText(t *testing.T) {
	text := "# comment\n\n:event-type: chunk\r\n:message-type: event\r\nbytes: {\"type\":\"ping\"}\n\n\n" +
		":error-message: a: b\n:message-type: error\n\n" +
		":event-type: x\n{\n  \"a\": 1\n}\n"
	got, err := EncodeEventStreamText(text)
	if err != nil {
		t.Fatal(err)
	}
	want := cat(
		esFrame(`{"bytes":"`+base64.StdEncoding.EncodeToString([]byte(`{"type":"ping"}`))+`"}`, ":event-type", "chunk", ":message-type", "event"),
		esFrame("", ":error-message", "a: b", ":message-type", "error"),
		esFrame("{\n  \"a\": 1\n}", ":event-type", "x"),
	)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, bad := range []string{":event-type\n{}\n", ":x: y\nbytes: {}\n{}\n", ":x: " + strings.Repeat("v", 1<<16) + "\n"} {
		if _, err := EncodeEventStreamText(bad); err == nil {
			t.Errorf("no error for %.40q", bad)
		}
	}
}
