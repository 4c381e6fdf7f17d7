//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenmeter/tokenmeter/e2e/fakellm"
)

// TestRetryOnEmbeddedError runs retry.yaml: tokenmeter as an upstream filter
// turns an overloaded error inside a 200 from the primary host into a
// retriable status, Envoy retries on the secondary host, and the client
// gets the secondary's stream untouched. The access log shows two attempts.
func TestRetryOnEmbeddedError(t *testing.T) {
	t.Parallel()
	primary, secondary := fakellm.New(env.testdata), fakellm.New(env.testdata)
	var addrs []string
	for _, f := range []*fakellm.Server{primary, secondary} {
		l, err := f.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		addrs = append(addrs, l.Addr)
	}
	_, primaryPort, _ := strings.Cut(addrs[0], ":")
	_, secondaryPort, _ := strings.Cut(addrs[1], ":")
	s := example(t, "retry", map[string]string{"PRIMARY_PORT": primaryPort, "SECONDARY_PORT": secondaryPort})

	good := caseNamed(t, "anthropic/messages-stream")
	cases := []struct {
		name             string
		firstAttempt     string // fixture the first attempt gets, "" for the good one
		wantAttempts     string
		wantHost         string
		wantPrimaryCalls int64
	}{
		{"error inside 200 is retried", "anthropic/overloaded.sse", "2", addrs[1], 1},
		{"good answer is not retried", "", "1", addrs[0], 1},
	}
	for _, tc := range cases { // in order: the request counts add up
		t.Run(tc.name, func(t *testing.T) {
			before := primary.Requests()
			headers := map[string]string{}
			if tc.firstAttempt != "" {
				headers[fakellm.HeaderFirstAttemptFixture] = tc.firstAttempt
			}
			req, id := newRequest(t.Context(), t, s.addr, "", good, headers)
			resp, body := call(t, clients["HTTP/1.1"], req)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, good.Data) {
				t.Fatalf("status %d, body %s; want 200 and the good stream %s:\n%s", resp.StatusCode, digest(body), digest(good.Data), body)
			}
			e := s.entry(t, id)
			if e.String("attempts") != tc.wantAttempts || e.String("upstream_host") != tc.wantHost {
				t.Errorf("attempts %s on %s, want %s on %s", e.String("attempts"), e.String("upstream_host"), tc.wantAttempts, tc.wantHost)
			}
			if got := primary.Requests() - before; got != tc.wantPrimaryCalls {
				t.Errorf("primary host got %d requests, want %d", got, tc.wantPrimaryCalls)
			}
			checkUsage(t, e, good.Usage)
		})
	}
}
