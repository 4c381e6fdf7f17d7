package parsers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStatusFor(t *testing.T) {
	cases := []struct {
		code    int
		errType string
		want    int
	}{
		{429, "", 429},
		{503, "rate_limit_error", 503},
		{200, "rate_limit_error", 429},
		{0, "rate_limit_exceeded", 429},
		{0, "insufficient_quota", 429},
		{0, "RESOURCE_EXHAUSTED", 429},
		{0, "throttlingException", 429},
		{0, "too_many_requests", 429},
		{0, "overloaded_error", 529},
		{0, "api_error", 500},
		{0, "timeout_error", 504},
		{0, "billing_error", 402},
		{0, "UNAVAILABLE", 503},
		{0, "authentication_error", 401},
		{0, "UNAUTHENTICATED", 401},
		{0, "permission_error", 403},
		{0, "PERMISSION_DENIED", 403},
		{0, "not_found_error", 404},
		{0, "NOT_FOUND", 404},
		{0, "request_too_large", 413},
		{0, "invalid_request_error", 400},
		{0, "INVALID_ARGUMENT", 400},
		{0, "validationException", 400},
		{0, "serviceUnavailableException", 503},
		{0, "internalServerException", 500},
		{0, "modelStreamErrorException", 424},
		{0, "modelTimeoutException", 408},
		{0, "TIMEOUT", 504},
		{0, "ERROR", 502},
		{0, "server_error", 502},
		{0, "", 502},
		{600, "", 502},
	}
	for _, c := range cases {
		if got := StatusFor(c.code, c.errType); got != c.want {
			t.Errorf("StatusFor(%d, %q) = %d, want %d", c.code, c.errType, got, c.want)
		}
	}
}

func TestTruncateKeepsUTF8Whole(t *testing.T) {
	s := strings.Repeat("é", MaxErrorMessage) // 2 bytes each
	got := truncate(s)
	if len(got) > MaxErrorMessage || !utf8.ValidString(got) {
		t.Fatalf("truncate: len %d valid %v", len(got), utf8.ValidString(got))
	}
	if got := truncate(strings.Repeat("\xb8", 2*MaxErrorMessage)); len(got) != MaxErrorMessage {
		t.Fatalf("truncate of a run of continuation bytes kept %d bytes, want %d", len(got), MaxErrorMessage)
	}
	if short := "short"; truncate(short) != short {
		t.Fatal("short string changed")
	}
}
