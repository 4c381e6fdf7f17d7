package sseparse

import "testing"

func TestJSONArray(t *testing.T) {
	checkDataCases(t, func(max int) Framer { return NewJSONArray(max) }, []dataCase{
		{name: "compact", body: `[{"a":1},{"b":2}]`, want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "pretty CRLF", body: "[{\r\n  \"a\": [1, {\"x\": 2}]\r\n}\r\n,\r\n{\r\n  \"b\": 2\r\n}\r\n]",
			want: []string{"{\r\n  \"a\": [1, {\"x\": 2}]\r\n}", "{\r\n  \"b\": 2\r\n}"}},
		{name: "leading whitespace", body: "\n\r\n  [ {\"a\":1} ]\n", want: []string{`{"a":1}`}},
		{name: "brackets in strings", body: `[{"t":"}]{[\"\\"},{"u":"\\\\"}]`, want: []string{`{"t":"}]{[\"\\"}`, `{"u":"\\\\"}`}},
		{name: "error element", body: `[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]`,
			want: []string{`{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`}},
		{name: "bare object body", body: "  {\"error\": {\"code\": 400}}\n", want: []string{`{"error": {"code": 400}}`}},
		{name: "nested array element", body: `[[1,[2]],{}]`, want: []string{`[1,[2]]`, `{}`}},
		{name: "empty array", body: "[]", want: nil},
		{name: "empty body", body: "", want: nil},
		{name: "junk between elements", body: `[{"a":1} x, 7 {"b":2}, null] y`,
			want: []string{`{"a":1}`, `{"b":2}`}, stats: Stats{Malformed: 7}},
		{name: "string elements", body: `["{[", {"b":"\""}, "\\", "\"]"]`, want: []string{`"{["`, `{"b":"\""}`, `"\\"`, `"\"]"`}},
		{name: "bare string body", body: `"oops"`, want: []string{`"oops"`}},
		{name: "after the closing bracket", body: `[{"a":1}]{"b":2}`, want: []string{`{"a":1}`}, stats: Stats{Malformed: 7}},
		{name: "truncated element", body: `[{"a":1},{"b":`, want: []string{`{"a":1}`}, stats: Stats{Malformed: 5}},
		{name: "exactly the maximum", max: 7, body: `[{"a":1}]`, want: []string{`{"a":1}`}},
		{name: "too large, resume after it", max: 7, body: `[{"a":1},{"b":"]}"},{"c":3}]`,
			want: []string{`{"a":1}`, `{"c":3}`}, stats: Stats{Oversize: 1}},
		{name: "too large and truncated", max: 4, body: `[{"a":12345`, stats: Stats{Oversize: 1, Malformed: 10}},
	})
}
