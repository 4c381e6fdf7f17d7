package parsers

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestCount(t *testing.T) {
	cases := []struct {
		json string
		want uint64
		ok   bool
	}{
		{`{"n":12}`, 12, true},
		{`{"n":0}`, 0, true},
		{`{"n":18446744073709551615}`, 18446744073709551615, true},
		{`{"n":null}`, 0, false},
		{`{}`, 0, false},
		{`{"n":"12"}`, 0, false},
		{`{"n":-3}`, 0, false},
	}
	for _, c := range cases {
		v, ok := count(gjson.Get(c.json, "n"))
		if v != c.want || ok != c.ok {
			t.Errorf("count(%s) = %d, %v; want %d, %v", c.json, v, ok, c.want, c.ok)
		}
	}
}

func TestNoteKeepsLatestNonZero(t *testing.T) {
	var u Usage
	if _, ok := u.note("prompt_tokens", gjson.Get(`{}`, "n")); ok || u.Reported {
		t.Fatal("absent field counted as reported")
	}
	for _, doc := range []string{`{"n":5}`, `{"n":0}`, `{"n":9}`, `{"n":0}`} {
		v, _ := u.note("prompt_tokens", gjson.Get(doc, "n"))
		keep(&u.InputTokens, v)
	}
	u.note("completion_tokens", gjson.Get(`{"n":0}`, "n"))
	want := []RawCount{{"prompt_tokens", 9}, {"completion_tokens", 0}}
	if !u.Reported || u.InputTokens != 9 || len(u.Raw) != 2 || u.Raw[0] != want[0] || u.Raw[1] != want[1] {
		t.Fatalf("got %+v", u)
	}
}

func TestSettle(t *testing.T) {
	u := Usage{InputTokens: 10, OutputTokens: 5, ProviderTotal: 15}
	u.settle()
	if u.TotalTokens != 15 || u.TotalMismatch {
		t.Fatalf("consistent total: %+v", u)
	}
	u.ProviderTotal = 16
	u.settle()
	if !u.TotalMismatch {
		t.Fatal("mismatch not flagged")
	}
}

func TestResultHelpers(t *testing.T) {
	var r Result
	buf := []byte("gpt-4o")
	r.setModel(view(buf))
	buf[0] = 'X' // the framer reuses its buffer
	r.setModel("other")
	r.fail(Error{Type: "first"})
	r.fail(Error{Type: "second"})
	if r.Model != "gpt-4o" || r.Err.Type != "first" {
		t.Fatalf("got %+v", r)
	}
	r.Usage.Raw = append(r.Usage.Raw, RawCount{"x", 1})
	r.reset()
	if r.Model != "" || r.Err.Type != "" || len(r.Usage.Raw) != 0 || cap(r.Usage.Raw) == 0 {
		t.Fatalf("reset: %+v", r)
	}
}
