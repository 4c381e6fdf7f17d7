//go:build e2e

package e2e

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// TestTimings checks the record's ttfb_ms and duration_ms against a stream
// the fake provider paces: the first byte no sooner than its first delay,
// the end no sooner than the pauses between all its events allow, and
// neither later than the client saw the call end.
func TestTimings(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	c := caseNamed(t, "openai/chat-stream")
	const firstDelay, eventDelay = 200, 20 // ms
	pauses := -1
	for _, p := range fakellm.Pieces(c.Fixture, c.Data) {
		if p.EventStart {
			pauses++
		}
	}
	req, id := newRequest(t.Context(), t, s.addr, "", c, map[string]string{
		fakellm.HeaderFirstDelay: strconv.Itoa(firstDelay),
		fakellm.HeaderEventDelay: strconv.Itoa(eventDelay),
	})
	start := time.Now()
	resp, body := call(t, clients["HTTP/1.1"], req)
	wall := float64(time.Since(start).Milliseconds())
	if resp.StatusCode != 200 || !bytes.Equal(body, c.Data) {
		t.Fatalf("status %d, body %s; want 200 and the fixture", resp.StatusCode, digest(body))
	}
	u, err := s.entry(t, id).Usage()
	if err != nil {
		t.Fatal(err)
	}
	ttfb, _ := u["ttfb_ms"].(float64)
	duration, _ := u["duration_ms"].(float64)
	if minEnd := float64(firstDelay + pauses*eventDelay); ttfb < firstDelay || duration < minEnd || ttfb > duration || duration > wall {
		t.Errorf("ttfb_ms %v, duration_ms %v; want %d <= ttfb <= duration, %v <= duration <= %v (the client's time)", ttfb, duration, firstDelay, minEnd, wall)
	}
}
