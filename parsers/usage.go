package parsers

import (
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Helpers shared by every parser so that all wire formats apply the package's
// merge rules (see the package comment) the same way: latest report wins,
// nothing is summed, a zero or missing figure never erases an earlier one,
// the provider's numbers are kept in Raw, and Result fields keep their
// first-seen values.

// view lets gjson read data without copying it (gjson.GetBytes copies every
// result it returns). The string aliases data, which the framer reuses: a
// string kept beyond the current call must be cloned, as setModel does.
func view(data []byte) string {
	return unsafe.String(unsafe.SliceData(data), len(data))
}

// viewBytes is view's inverse, for APIs that read []byte (base64 decoding)
// from a string gjson returned. The bytes must not be written.
func viewBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// count reads a token count. ok is false when the field is absent, null, or
// not a non-negative number, so that "not reported" stays distinct from 0.
func count(r gjson.Result) (v uint64, ok bool) {
	if r.Type != gjson.Number || r.Num < 0 {
		return 0, false
	}
	return r.Uint(), true
}

// note reads the count r, marks usage as reported and records the value in
// Raw under name, which must be a static string so that recording does not
// allocate once Raw has grown. ok is false when r is not a count.
func (u *Usage) note(name string, r gjson.Result) (v uint64, ok bool) {
	v, ok = count(r)
	if !ok {
		return 0, false
	}
	return u.record(name, v), true
}

// record is note for a count already read, and returns it.
func (u *Usage) record(name string, v uint64) uint64 {
	u.Reported = true
	for i := range u.Raw {
		if u.Raw[i].Name == name {
			keep(&u.Raw[i].Value, v)
			return v
		}
	}
	u.Raw = append(u.Raw, RawCount{Name: name, Value: v})
	return v
}

// keep stores a newly reported figure: the latest report wins, except that
// a zero never erases an earlier non-zero value (providers zero out fields
// they merely stopped repeating).
func keep(dst *uint64, v uint64) {
	if v != 0 || *dst == 0 {
		*dst = v
	}
}

// settle recomputes the derived totals after any figure changed: TotalTokens
// is always ours, and the provider's own total only serves as a check.
func (u *Usage) settle() {
	u.TotalTokens = u.InputTokens + u.OutputTokens
	u.TotalMismatch = u.ProviderTotal != 0 && u.ProviderTotal != u.TotalTokens
}

// settleUncached sets InputTokens for providers whose input figure excludes
// the cache (Anthropic, Bedrock): every prompt-side token is the uncached
// input plus the cache reads and writes. Then it settles the totals.
func (u *Usage) settleUncached(input uint64) {
	u.InputTokens = input + u.CacheReadTokens + u.CacheCreationTokens
	u.settle()
}

// setModel records the first non-empty model a response reports. The value
// is cloned because m usually aliases framer memory (see view).
func (r *Result) setModel(m string) {
	if r.Model == "" && m != "" {
		r.Model = strings.Clone(m)
	}
}

// setFinishReason keeps the latest non-empty finish reason; the comparison
// spares a copy when a repeated value is unchanged.
func (r *Result) setFinishReason(s string) {
	if s != "" && s != r.FinishReason {
		r.FinishReason = strings.Clone(s)
	}
}

// fail records e unless an error was already recorded: the first error is
// the cause, later ones are usually its consequences.
func (r *Result) fail(e Error) {
	if r.Err.Type == "" {
		r.Err = e
	}
}

// reset clears r for a new response, keeping Raw's capacity so that a reused
// parser does not allocate it again.
func (r *Result) reset() {
	*r = Result{Usage: Usage{Raw: r.Usage.Raw[:0]}}
}
