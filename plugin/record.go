package main

import (
	"strconv"
	"unicode/utf8"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/tokenmeter/tokenmeter/parsers"
)

// Outcomes of a metered call, as written to filter state, metrics and logs.
const (
	outcomeCompleted          = "completed"
	outcomeIncomplete         = "incomplete"
	outcomeStreamError        = "stream_error"
	outcomeEmbeddedError      = "embedded_error"
	outcomeUpstreamError      = "upstream_error"
	outcomeClientDisconnected = "client_disconnected"
)

// record is everything tokenmeter reports about one call.
type record struct {
	provider     string
	api          string
	model        string
	stream       bool
	usage        parsers.Usage
	outcome      string
	finishReason string
	errorType    string
	errorMessage string
	status       int
	ttfbMS       int64 // -1 when no response byte arrived
	durationMS   int64
}

// appendJSON writes the record as the llm.usage JSON object.
func (r *record) appendJSON(b []byte) []byte {
	u := &r.usage
	b = append(b, '{')
	b = appendStringField(b, "provider", r.provider, false)
	b = appendStringField(b, "api", r.api, true)
	b = appendStringField(b, "model", r.model, true)
	b = appendBoolField(b, "stream", r.stream)
	b = appendUintField(b, "input_tokens", u.InputTokens)
	b = appendUintField(b, "output_tokens", u.OutputTokens)
	b = appendUintField(b, "cache_read_tokens", u.CacheReadTokens)
	b = appendUintField(b, "cache_creation_tokens", u.CacheCreationTokens)
	b = appendUintField(b, "reasoning_tokens", u.ReasoningTokens)
	b = appendUintField(b, "total_tokens", u.TotalTokens)
	b = appendBoolField(b, "usage_reported", u.Reported)
	b = appendStringField(b, "outcome", r.outcome, true)
	b = appendStringField(b, "finish_reason", r.finishReason, true)
	b = appendStringField(b, "error_type", r.errorType, true)
	b = appendStringField(b, "error_message", r.errorMessage, true)
	b = appendIntField(b, "status", int64(r.status))
	b = appendIntField(b, "ttfb_ms", r.ttfbMS)
	b = appendIntField(b, "duration_ms", r.durationMS)
	return append(b, '}')
}

// writeFilterState publishes the record as Envoy filter state: the whole
// JSON under llm.usage and one scalar per field, so access logs can print
// %FILTER_STATE(wasm.llm.<field>:PLAIN)%. Empty strings are left unset
// (the access log then prints "-").
func (r *record) writeFilterState(usageJSON []byte) {
	u := &r.usage
	// The numbers' digits share one buffer; hosts may keep the slices.
	digits := numbers(make([]byte, 0, 9*20))
	setState("llm.usage", usageJSON)
	setStateString("llm.provider", r.provider)
	setStateString("llm.api", r.api)
	setStateString("llm.model", r.model)
	setStateString("llm.stream", strconv.FormatBool(r.stream))
	setState("llm.input_tokens", digits.unsigned(u.InputTokens))
	setState("llm.output_tokens", digits.unsigned(u.OutputTokens))
	setState("llm.cache_read_tokens", digits.unsigned(u.CacheReadTokens))
	setState("llm.cache_creation_tokens", digits.unsigned(u.CacheCreationTokens))
	setState("llm.reasoning_tokens", digits.unsigned(u.ReasoningTokens))
	setState("llm.total_tokens", digits.unsigned(u.TotalTokens))
	setStateString("llm.usage_reported", strconv.FormatBool(u.Reported))
	setStateString("llm.outcome", r.outcome)
	setStateString("llm.finish_reason", r.finishReason)
	setStateString("llm.error_type", r.errorType)
	setStateString("llm.error_message", r.errorMessage)
	setState("llm.status", digits.signed(int64(r.status)))
	setState("llm.ttfb_ms", digits.signed(r.ttfbMS))
	setState("llm.duration_ms", digits.signed(r.durationMS))
}

// numbers appends numbers' decimal text to one buffer and hands out each.
type numbers []byte

func (n *numbers) unsigned(v uint64) []byte {
	start := len(*n)
	*n = strconv.AppendUint(*n, v, 10)
	return (*n)[start:]
}

func (n *numbers) signed(v int64) []byte {
	start := len(*n)
	*n = strconv.AppendInt(*n, v, 10)
	return (*n)[start:]
}

func setState(key string, value []byte) {
	if len(value) > 0 {
		logSetError(key, setProperty(key, value))
	}
}

func setStateString(key, value string) {
	if value != "" {
		logSetError(key, setPropertyString(key, value))
	}
}

func logSetError(key string, err error) {
	if err != nil {
		proxywasm.LogDebugf("tokenmeter: set %s: %v", key, err)
	}
}

// logLine is the one JSON log line per metered call: the llm.usage object
// (usageJSON) plus the request id that ties it to Envoy's access log.
func logLine(requestID string, usageJSON []byte) string {
	b := make([]byte, 0, len(usageJSON)+64)
	b = append(b, `{"msg":"tokenmeter",`...)
	b = appendStringField(b, "request_id", requestID, false)
	b = append(b, ',')
	b = append(b, usageJSON[1:]...)
	return string(b)
}

func appendKey(b []byte, key string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, key, v string, comma bool) []byte {
	return appendJSONString(appendKey(b, key, comma), v)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, key, true), v)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, key, true), v, 10)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, key, true), v, 10)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Invalid UTF-8 (provider
// messages are untrusted) becomes U+FFFD so the output always parses.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
