package sseparse

import "testing"

func TestNDJSON(t *testing.T) {
	checkDataCases(t, func(max int) Framer { return NewNDJSON(max) }, []dataCase{
		{name: "LF", body: "{\"a\":1}\n{\"b\":2}\n", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "CRLF", body: "{\"a\":1}\r\n{\"b\":2}\r\n", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "lone CR is not a line break", body: "{\"a\":\r1}\n", want: []string{"{\"a\":\r1}"}},
		{name: "blank lines skipped", body: "\n\r\n  \n{\"a\":1}\n\n\t\n{\"b\":2}\n\n", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "final line without newline", body: "{\"a\":1}\n{\"done\":true}",
			want: []string{`{"a":1}`, `{"done":true}`}, stats: Stats{Unterminated: true}},
		{name: "final line with CR only", body: "{\"a\":1}\r", want: []string{`{"a":1}`}, stats: Stats{Unterminated: true}},
		{name: "final blank line without newline", body: "{\"a\":1}\n  ", want: []string{`{"a":1}`}},
		{name: "error line", body: "{\"error\":\"an error was encountered while running the model\"}\n",
			want: []string{`{"error":"an error was encountered while running the model"}`}},
		{name: "line kept verbatim", body: " {\"a\": \"\\n\"} \n", want: []string{` {"a": "\n"} `}},
		{name: "exactly the maximum", max: 7, body: "{\"a\":1}\r\n", want: []string{`{"a":1}`}},
		{name: "too long, resume at next line", max: 7, body: "{\"a\":1}\n{\"a\":12}\r\n{\"b\":2}\n",
			want: []string{`{"a":1}`, `{"b":2}`}, stats: Stats{Oversize: 1}},
		{name: "too long at end of stream", max: 7, body: "{\"a\":1}\n{\"a\":1234}",
			want: []string{`{"a":1}`}, stats: Stats{Oversize: 1}},
	})
}
