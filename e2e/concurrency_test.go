//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// TestConcurrentStreams runs 50 streams at once through demo.yaml, whose
// Envoy has two workers (so two plugin VMs), over both protocols: every
// client gets its upstream's bytes and every access log line the exact
// usage of its own stream.
func TestConcurrentStreams(t *testing.T) {
	t.Parallel()
	s := example(t, "demo", nil)
	var streams []fixtureCase
	for _, c := range loadCases(t) {
		if c.Usage["stream"] == true && c.Usage["outcome"] == "completed" {
			streams = append(streams, c)
		}
	}
	const n = 50
	protos := []string{"HTTP/1.1", "HTTP/2"}
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := streams[i%len(streams)]
		req, id := newRequest(t.Context(), t, s.addr, "", c, map[string]string{fakellm.HeaderEventDelay: "20"})
		ids[i] = id
		wg.Go(func() {
			resp, err := clients[protos[i%2]].Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			if _, err := body.ReadFrom(resp.Body); err != nil || !bytes.Equal(body.Bytes(), c.Data) {
				errs[i] = fmt.Errorf("%s: got %s (err %v), want %s", c.Name, digest(body.Bytes()), err, digest(c.Data))
			}
		})
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		t.Run(fmt.Sprintf("%02d-%s", i, strings.ReplaceAll(streams[i%len(streams)].Name, "/", "-")), func(t *testing.T) {
			checkUsage(t, s.entry(t, ids[i]), streams[i%len(streams)].Usage)
		})
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d streams failed:\n%s", len(failed), n, strings.Join(failed, "\n"))
	}
}
