package parsers

import (
	"strings"
	"unicode/utf8"
)

// StatusFor maps a provider error to the HTTP status a client should see,
// so an error hidden in a 200 body can be replayed as a real one. A numeric
// code 400–599 given by the provider wins; otherwise the type (or status
// name) decides, and anything unrecognised is a 502 (the upstream failed).
func StatusFor(code int, errType string) int {
	if code >= 400 && code <= 599 {
		return code
	}
	t := strings.ToLower(errType)
	switch {
	case t == "overloaded_error":
		return 529
	case t == "api_error": // Anthropic's internal server error
		return 500
	case t == "timeout_error", t == "timeout": // Anthropic; Cohere's finish_reason TIMEOUT
		return 504
	case t == "billing_error": // Anthropic
		return 402
	case t == "internalserverexception": // Bedrock's stream exceptions, with their documented statuses
		return 500
	case t == "modelstreamerrorexception":
		return 424
	case t == "modeltimeoutexception":
		return 408
	case containsAny(t, "rate_limit", "rate-limit", "ratelimit", "too_many_requests", "quota", "resource_exhausted", "throttl"):
		return 429
	case containsAny(t, "unavailable", "overloaded"):
		return 503
	case containsAny(t, "authentication", "unauthenticated", "invalid_api_key"):
		return 401
	case containsAny(t, "permission", "forbidden"):
		return 403
	case containsAny(t, "not_found", "notfound"):
		return 404
	case strings.Contains(t, "too_large"):
		return 413
	case containsAny(t, "invalid_request", "invalid_argument", "validation", "bad_request"):
		return 400
	}
	return 502
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// truncate bounds an error message to MaxErrorMessage bytes without
// cutting a UTF-8 sequence in half.
func truncate(s string) string {
	if len(s) <= MaxErrorMessage {
		return s
	}
	// Back off at most three continuation bytes (the tail of one UTF-8
	// character); a longer run is not UTF-8 anyway and is cut as bytes, so
	// that a non-empty value never truncates to nothing.
	cut := MaxErrorMessage
	for back := 0; back < utf8.UTFMax-1 && s[cut]&0xC0 == 0x80; back++ {
		cut--
	}
	if s[cut]&0xC0 == 0x80 {
		cut = MaxErrorMessage
	}
	return s[:cut]
}
