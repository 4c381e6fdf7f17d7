//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestFixtures sends every fixture through demo.yaml over HTTP/1.1 and
// HTTP/2: the client gets the upstream's bytes exactly (or, for an error
// inside a 200, the mapped error reply), and the access log shows the exact
// usage and outcome the fixture's expect.json gives.
func TestFixtures(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	for _, c := range loadCases(t) {
		for proto, client := range clients {
			t.Run(c.Name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				req, id := newRequest(t.Context(), t, s.addr, "", c, nil)
				resp, body := call(t, client, req)
				if resp.StatusCode != c.ClientStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.ClientStatus, body)
				}
				if c.embedded() {
					checkEmbeddedReply(t, resp.Header.Get("x-tokenmeter-embedded-error"), body, c)
				} else if !bytes.Equal(body, c.Data) {
					t.Fatalf("client got %s, upstream sent %s", digest(body), digest(c.Data))
				}
				e := s.entry(t, id)
				if e.String("protocol") != proto {
					t.Errorf("access log protocol %q, want %q", e.String("protocol"), proto)
				}
				checkUsage(t, e, c.Usage)
			})
		}
	}
}

// checkEmbeddedReply checks tokenmeter's local reply for an error found
// inside a 200: the marker header and the documented JSON body.
func checkEmbeddedReply(t *testing.T, marker string, body []byte, c fixtureCase) {
	t.Helper()
	if marker == "" {
		t.Errorf("no x-tokenmeter-embedded-error header")
	}
	var reply struct {
		Error struct {
			Type     string `json:"type"`
			Message  string `json:"message"`
			Provider string `json:"provider"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		t.Fatalf("embedded-error reply is not JSON: %v: %q", err, body)
	}
	if want, ok := c.Usage["error_type"].(string); ok && reply.Error.Type != want {
		t.Errorf("reply error.type %q, want %q", reply.Error.Type, want)
	}
	if reply.Error.Provider != c.Usage["provider"] || reply.Error.Message == "" {
		t.Errorf("reply error %+v, want provider %v and a message", reply.Error, c.Usage["provider"])
	}
}
