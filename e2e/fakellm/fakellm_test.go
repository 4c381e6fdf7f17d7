package fakellm

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testdata = "../testdata"

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
			data, err := os.ReadFile(file)
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
			if streamed := strings.HasSuffix(name, ".sse") || strings.Contains(name, "stream-array"); streamed && len(pieces) <= events {
				t.Fatalf("%d pieces, %d events: a stream must come as split events", len(pieces), events)
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
