package main

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Usage injection: OpenAI Chat streams carry no usage unless the client
// sets stream_options.include_usage. With inject_stream_usage the plugin
// sets it on the client's behalf and then removes the extra usage-only
// chunk from the stream, so the client sees the events it asked for while
// the call is still metered exactly.

// includeUsage is what injection adds to a request's stream_options.
const includeUsage = `"include_usage":true`

// injectIncludeUsage returns the request body with
// stream_options.include_usage set, or nil when the request is not a
// stream, already decides include_usage itself (true or false), or is not
// a JSON object. The rest of the body is kept byte for byte.
func injectIncludeUsage(body []byte) []byte {
	if gjson.GetBytes(body, "stream").Type != gjson.True {
		return nil
	}
	opts := gjson.GetBytes(body, "stream_options")
	if opts.Get("include_usage").Exists() {
		return nil
	}
	if opts.Exists() {
		if !opts.IsObject() || opts.Index <= 0 {
			return nil
		}
		return insertMember(body, opts.Index, includeUsage)
	}
	start := bytes.IndexByte(body, '{')
	if start < 0 || len(bytes.TrimSpace(body[:start])) != 0 {
		return nil
	}
	return insertMember(body, start, `"stream_options":{`+includeUsage+`}`)
}

// insertMember inserts a member right after the '{' at open, adding a
// comma when the object already has members.
func insertMember(body []byte, open int, member string) []byte {
	rest := body[open+1:]
	sep := ","
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '}' {
		sep = ""
	}
	out := make([]byte, 0, len(body)+len(member)+1)
	out = append(out, body[:open+1]...)
	out = append(out, member...)
	out = append(out, sep...)
	return append(out, rest...)
}

// usageStripper removes what injection added from the bytes about to be
// forwarded: the usage-only chunk, and the "usage":null member OpenAI puts
// in every other chunk once include_usage is set. It forwards whole events only, keeping
// the unfinished tail of a chunk (at most maxEvent bytes) until its event
// is complete; an event already partly forwarded is passed on as is.
type usageStripper struct {
	carry    []byte
	midEvent bool
	maxEvent int
	removed  int
}

// process returns the bytes of p (after any carried tail) that should be
// forwarded now; final flushes everything that is left.
func (s *usageStripper) process(p []byte, final bool) []byte {
	data := p
	if len(s.carry) > 0 {
		data = append(s.carry, p...)
		s.carry = s.carry[:0]
	}
	out := make([]byte, 0, len(data))
	for len(data) > 0 {
		end := eventEnd(data)
		if end < 0 {
			break
		}
		event := data[:end]
		data = data[end:]
		if !s.midEvent && isUsageOnlyChunk(event) {
			s.removed++
			continue
		}
		if s.midEvent {
			s.midEvent = false
			out = append(out, event...)
			continue
		}
		out = appendWithoutUsageNull(out, event)
	}
	switch {
	case len(data) == 0:
	case final || len(data) > s.maxEvent:
		out = append(out, data...)
		s.midEvent = !final
	default:
		s.carry = append(s.carry, data...)
	}
	return out
}

// released tells the stripper that bytes it never saw were forwarded as
// they were (a prefetch released by the timer): if they ended inside an
// event, the rest of that event must pass unchanged.
func (s *usageStripper) released(endedAtBoundary bool) {
	s.midEvent = !endedAtBoundary
}

// appendWithoutUsageNull appends an SSE event, dropping a top-level
// "usage":null member (and the comma that separated it) from its data.
func appendWithoutUsageNull(out, event []byte) []byte {
	i := bytes.Index(event, []byte(`"usage":null`))
	if i < 0 {
		return append(out, event...)
	}
	start := bytes.IndexByte(event, '{')
	if start < 0 || start > i || gjson.GetBytes(event[start:], "usage").Index != i-start+len(`"usage":`) {
		return append(out, event...) // not the top-level member
	}
	from, to := i, i+len(`"usage":null`)
	switch {
	case from > 0 && event[from-1] == ',':
		from--
	case to < len(event) && event[to] == ',':
		to++
	}
	out = append(out, event[:from]...)
	return append(out, event[to:]...)
}

// eventEnd returns the length of the first complete SSE event in data
// (through its blank line), or -1.
func eventEnd(data []byte) int {
	for i := 0; i+1 < len(data); i++ {
		if data[i] != '\n' {
			continue
		}
		if data[i+1] == '\n' {
			return i + 2
		}
		if data[i+1] == '\r' && i+2 < len(data) && data[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// endsAtBoundary reports whether bytes ending with tail end an SSE event.
func endsAtBoundary(tail []byte) bool {
	return bytes.HasSuffix(tail, []byte("\n\n")) || bytes.HasSuffix(tail, []byte("\n\r\n"))
}

// isUsageOnlyChunk recognises the chunk include_usage adds: a data event
// whose JSON has an empty choices list and a usage object.
func isUsageOnlyChunk(event []byte) bool {
	if !bytes.Contains(event, []byte(`"usage"`)) {
		return false
	}
	data := bytes.TrimSpace(event)
	if !bytes.HasPrefix(data, []byte("data:")) {
		return false
	}
	data = bytes.TrimSpace(data[len("data:"):])
	choices := gjson.GetBytes(data, "choices")
	return choices.IsArray() && len(choices.Array()) == 0 && gjson.GetBytes(data, "usage").IsObject()
}
