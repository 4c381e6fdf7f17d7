package fakellm

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const testdata = "../testdata"

// TestPiecesJoinToFixture renders every fixture and cuts it into writes:
// the writes join back to the rendered body, SSE events and streamed JSON
// array elements are split across writes, and NDJSON lines and
// eventstream frames come one per write.
func TestPiecesJoinToFixture(t *testing.T) {
	names, err := filepath.Glob(filepath.Join(testdata, "*", "*"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range names {
		if strings.HasSuffix(file, ".expect.json") {
			continue
		}
		name, _ := filepath.Rel(testdata, file)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data, err := Render(name, raw, "/", nil)
			if err != nil {
				t.Fatal(err)
			}
			pieces := Pieces(name, data)
			var joined []byte
			events := 0
			for _, p := range pieces {
				joined = append(joined, p.Data...)
				if p.EventStart {
					events++
				}
			}
			if !bytes.Equal(joined, data) {
				t.Fatalf("pieces do not join back to the fixture")
			}
			if events != len(Events(name, data)) {
				t.Fatalf("%d pieces start an event, the fixture has %d events", events, len(Events(name, data)))
			}
			switch {
			case strings.HasSuffix(name, ".sse") || strings.Contains(name, "stream-array"):
				if len(pieces) <= events {
					t.Fatalf("%d pieces, %d events: a stream must come as split events", len(pieces), events)
				}
			case strings.HasSuffix(name, ".ndjson") || strings.HasSuffix(name, ".eventstream.txt"):
				if events < 2 || len(pieces) != events {
					t.Fatalf("%d pieces, %d events: want one write per line or frame", len(pieces), events)
				}
			}
		})
	}
}

// TestRender checks what a fixture becomes on the wire: eventstream text
// turns into frames with valid CRCs, and an OpenAI Chat stream keeps its
// usage only for a request with stream_options.include_usage true.
func TestRender(t *testing.T) {
	bedrock, err := os.ReadFile(filepath.Join(testdata, "bedrock", "converse-stream.eventstream.txt"))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := Render("bedrock/converse-stream.eventstream.txt", bedrock, "/model/m/converse-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range Events("bedrock/converse-stream.eventstream.txt", frames) {
		n := binary.BigEndian.Uint32(f)
		if int(n) != len(f) || crc32.ChecksumIEEE(f[:8]) != binary.BigEndian.Uint32(f[8:]) ||
			crc32.ChecksumIEEE(f[:n-4]) != binary.BigEndian.Uint32(f[n-4:]) {
			t.Fatalf("bad frame % x", f)
		}
		_, after, _ := bytes.Cut(f, []byte(":event-type\x07"))
		types = append(types, string(after[2:2+binary.BigEndian.Uint16(after)]))
	}
	if got := strings.Join(types, " "); got != "messageStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata" {
		t.Fatalf("frames %s", got)
	}

	const chat = "openai/chat-stream-injected.sse"
	raw, err := os.ReadFile(filepath.Join(testdata, chat))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, body string
		wantUsage        bool
	}{
		{"include_usage true", "/v1/chat/completions", `{"stream":true,"stream_options":{"include_usage":true}}`, true},
		{"no stream_options", "/v1/chat/completions", `{"stream":true}`, false},
		{"include_usage false", "/v1/chat/completions", `{"stream":true,"stream_options":{"include_usage":false}}`, false},
		{"not a chat path", "/v1/other", `{"stream":true}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(chat, raw, tc.path, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			usageChunks := 0
			for _, ev := range Events(chat, got) {
				if IsUsageChunk(ev) {
					usageChunks++
				}
			}
			nulls := bytes.Count(got, []byte(`"usage":null`))
			if tc.wantUsage && (!bytes.Equal(got, raw) || usageChunks != 1) {
				t.Fatalf("want the fixture as written, with its usage chunk; got %d usage chunks:\n%s", usageChunks, got)
			}
			if !tc.wantUsage && (usageChunks != 0 || nulls != 0 || len(Events(chat, got)) != len(Events(chat, raw))-1) {
				t.Fatalf("want no usage chunk and no usage member; got %d and %d:\n%s", usageChunks, nulls, got)
			}
		})
	}
}

// TestServe drives the real listener over both protocols it speaks.
func TestServe(t *testing.T) {
	l, err := New(testdata).Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	want, err := os.ReadFile(filepath.Join(testdata, "anthropic/messages-stream.sse"))
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*http.Client{
		"http1": {},
		"h2c":   {Transport: &http.Transport{Protocols: h2cOnly()}},
	}
	cases := []struct {
		name       string
		path       string
		body       string
		headers    map[string]string
		wantStatus int
		wantServed string
		wantBody   func([]byte) bool
	}{
		{"default by path", "/v1/messages", `{"stream":true}`, nil, 200, "anthropic/messages-stream.sse",
			func(b []byte) bool { return bytes.Equal(b, want) }},
		{"non-stream default", "/v1/chat/completions", `{"model":"x"}`, nil, 200, "openai/chat.json", nil},
		{"gemini sse", "/v1beta/models/m:streamGenerateContent?alt=sse", `{}`, nil, 200, "gemini/stream-sse.sse", nil},
		{"bedrock default", "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream", `{}`, nil, 200, "bedrock/converse-stream.eventstream.txt", nil},
		{"ollama streams by default", "/api/chat", `{"model":"llama3.2"}`, nil, 200, "ollama/chat-stream.ndjson", nil},
		{"ollama stream false", "/api/chat", `{"stream":false}`, nil, 404, "", nil},
		{"status", "/v1/chat/completions", `{}`, map[string]string{HeaderFixture: "openai/chat-429.json", HeaderStatus: "429"}, 429, "openai/chat-429.json", nil},
		{"first attempt", "/v1/messages", `{}`, map[string]string{HeaderFixture: "anthropic/messages.json", HeaderFirstAttemptFixture: "anthropic/overloaded.sse"}, 200, "anthropic/overloaded.sse", nil},
		{"retry attempt", "/v1/messages", `{}`, map[string]string{HeaderFixture: "anthropic/messages.json", HeaderFirstAttemptFixture: "anthropic/overloaded.sse", "x-envoy-attempt-count": "2"}, 200, "anthropic/messages.json", nil},
		{"escape", "/v1/messages", `{}`, map[string]string{HeaderFixture: "../go.mod"}, 400, "", nil},
	}
	for proto, client := range clients {
		for _, tc := range cases {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", "http://"+l.Addr+tc.path, strings.NewReader(tc.body))
				for k, v := range tc.headers {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.wantStatus || resp.Header.Get(HeaderServed) != tc.wantServed {
					t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get(HeaderServed), tc.wantStatus, tc.wantServed, body)
				}
				if wantProto := map[string]int{"http1": 1, "h2c": 2}[proto]; resp.ProtoMajor != wantProto {
					t.Fatalf("spoke HTTP/%d, want %d", resp.ProtoMajor, wantProto)
				}
				if tc.wantBody != nil && !tc.wantBody(body) {
					t.Fatalf("unexpected body %q", body)
				}
			})
		}
	}
}

func TestCutAfter(t *testing.T) {
	l, err := New(testdata).Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	req, _ := http.NewRequest("POST", "http://"+l.Addr+"/v1/messages", strings.NewReader(`{"stream":true}`))
	req.Header.Set(HeaderCutAfter, "100")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil || len(body) != 100 {
		t.Fatalf("read %d bytes, err %v: want exactly 100 and a broken stream", len(body), err)
	}
}

func h2cOnly() *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &p
}

// TestReceived checks that the server keeps request bodies by
// x-request-id, the last one for a repeated id, and forgets the oldest.
func TestReceived(t *testing.T) {
	s := New(testdata)
	l, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	send := func(id, body string) {
		req, _ := http.NewRequest("POST", "http://"+l.Addr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("x-request-id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send("first", `{"n":1}`)
	send("a", `{"n":2}`)
	send("a", `{"n":3}`)
	if got, ok := s.Received("a"); !ok || string(got) != `{"n":3}` {
		t.Fatalf("Received(a) = %q, %v; want the last body", got, ok)
	}
	for i := range maxReceived {
		s.record(strconv.Itoa(i), nil)
	}
	if _, ok := s.Received("first"); ok {
		t.Fatalf("kept more than %d bodies", maxReceived)
	}
}
