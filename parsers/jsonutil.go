package parsers

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"
)

// object parses data (already trimmed) as one JSON object. It reports false
// for anything else, including truncated JSON, so that gjson's best-effort
// reading of a broken message can never change a Result.
func object(data []byte) (gjson.Result, bool) {
	if len(data) == 0 || data[0] != '{' || !gjson.ValidBytes(data) {
		return gjson.Result{}, false
	}
	return gjson.Parse(view(data)), true
}

// bodyObject opens a whole, non-stream body that should be one JSON object.
// When ok is false, k is the verdict on the body: an empty
// one says nothing (KindIgnored), anything else but an object is broken
// (KindMalformed). Body methods share it so that they cannot disagree on
// those two cases.
func bodyObject(data []byte) (body gjson.Result, k Kind, ok bool) {
	d := bytes.TrimSpace(data)
	if len(d) == 0 {
		return gjson.Result{}, KindIgnored, false
	}
	if body, ok = object(d); !ok {
		return gjson.Result{}, KindMalformed, false
	}
	return body, KindMeaningful, true
}

// take records the count r under the static wire name and, when r is a
// count, merges it into dst by the package's rules (see keep).
func (u *Usage) take(dst *uint64, name string, r gjson.Result) {
	if v, ok := u.note(name, r); ok {
		keep(dst, v)
	}
}

// providerError builds an Error from the fields of a provider's error
// object. The strings alias framer memory, so the kept ones are cloned.
// code is the provider's own code (numeric for Google, absent for
// Anthropic); a numeric 4xx/5xx code decides the status over the type.
// A missing type becomes fallbackErrorType so that the error still counts
// as recorded (Result.Err.Type == "" means "no error").
func providerError(typ string, code gjson.Result, msg string) Error {
	if typ == "" {
		typ = fallbackErrorType
	}
	var codeText string
	if code.Type == gjson.Number || code.Type == gjson.String {
		codeText = truncate(code.String())
	}
	return Error{
		Type:    strings.Clone(truncate(typ)),
		Code:    strings.Clone(codeText),
		Message: strings.Clone(truncate(msg)),
		Status:  StatusFor(int(code.Int()), typ),
	}
}
