//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// TestClientDisconnect leaves a slow Anthropic stream early and late: a
// client gone mid-stream leaves outcome client_disconnected with the usage
// seen so far (message_start's input and cache counts); one that read to
// the end leaves completed with the full usage.
func TestClientDisconnect(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	c := caseNamed(t, "anthropic/messages-stream")
	cases := []struct {
		name      string
		readUntil string // leave after the line containing this; "" reads to the end
		want      map[string]any
	}{
		{"mid-stream", `"content_block_delta"`, map[string]any{
			"outcome": "client_disconnected", "input_tokens": 2390.0, "cache_read_tokens": 2048.0, "cache_creation_tokens": 300.0,
		}},
		{"after completion", "", c.Usage},
	}
	for proto, client := range clients {
		for _, tc := range cases {
			t.Run(tc.name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				req, id := newRequest(ctx, t, s.addr, "", c, map[string]string{fakellm.HeaderEventDelay: "150"})
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if tc.readUntil == "" {
					body, err := io.ReadAll(resp.Body)
					if err != nil || !bytes.Equal(body, c.Data) {
						t.Fatalf("read %s, err %v; want the whole stream", digest(body), err)
					}
				} else {
					r := bufio.NewReader(resp.Body)
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							t.Fatalf("stream ended before %s: %v", tc.readUntil, err)
						}
						if bytes.Contains([]byte(line), []byte(tc.readUntil)) {
							break
						}
					}
				}
				cancel() // closes the HTTP/1.1 connection or resets the HTTP/2 stream
				resp.Body.Close()
				checkUsage(t, s.entry(t, id), tc.want)
			})
		}
	}
}
