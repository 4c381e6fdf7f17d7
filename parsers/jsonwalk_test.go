package parsers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// visitFunc lets a test visit with a closure.
type visitFunc func(depth int, parent, key, value []byte) bool

func (f visitFunc) member(depth int, parent, key, value []byte) bool {
	return f(depth, parent, key, value)
}

// walkTrace walks d and lists the members visited, as
// "depth parent.key=value".
func walkTrace(d string) ([]string, bool) {
	var got []string
	ok := walkObject([]byte(d), maxWalkDepth, visitFunc(func(depth int, parent, key, value []byte) bool {
		got = append(got, fmt.Sprintf("%d %s.%s=%s", depth, parent, key, value))
		return true
	}))
	return got, ok
}

func TestWalkObject(t *testing.T) {
	cases := []struct {
		data string
		want []string // nil: not vouched for
	}{
		{`{}`, []string{}},
		{" \r\n{ }\t", []string{}},
		{`{"a":1}`, []string{"1 .a=1"}},
		{`{"a" : "x\"y" , "b":[1, {"c":null}],"d":{}}`, []string{`1 .a="x\"y"`, "3 b.c=null", `1 .b=[1, {"c":null}]`, "1 .d={}"}},
		{`{"a":{"b":{"c":[]}},"e":[[],[{"f":{"g":0}}]]}`, []string{"3 b.c=[]", `2 a.b={"c":[]}`, `1 .a={"b":{"c":[]}}`, "5 f.g=0", `4 e.f={"g":0}`, `1 .e=[[],[{"f":{"g":0}}]]`}},
		{`{"n":[-0.5e+3,0,10,1E9,true,false]}`, []string{"1 .n=[-0.5e+3,0,10,1E9,true,false]"}},
		{`{"u":"\u00e9\n\/ é 😀"}`, []string{`1 .u="\u00e9\n\/ é 😀"`}},
		{`{"a":1,}`, nil},
		{`{"a":1`, nil},
		{`{"a":1}}`, nil},
		{`{"a":1} x`, nil},
		{`{"a" 1}`, nil},
		{`{a:1}`, nil},
		{`{"a":[1,]}`, nil},
		{`{"a":[{},]}`, nil},
		{`{"a":{},}`, nil},
		{`{"a":[1}`, nil},
		{`{"a":{]}`, nil},
		{`{"a":01}`, nil},
		{`{"a":1.}`, nil},
		{`{"a":-}`, nil},
		{`{"a":1e}`, nil},
		{`{"a":tru}`, nil},
		{`{"a":nul}`, nil},
		{`{"a":"x` + "\n" + `"}`, nil},
		{`{"a":"\x"}`, nil},
		{`{"a":"\u12g4"}`, nil},
		{`{"a":"abc`, nil},
		{`{"a":"0123456789abcdef\"`, nil},
		{`{"\u0061":1}`, nil}, // an escaped key is not vouched for
		{`[]`, nil},
		{`"x"`, nil},
		{``, nil},
		{strings.Repeat(`{"a":`, maxWalkDepth+1) + "1" + strings.Repeat("}", maxWalkDepth+1), nil}, // one level too deep
		{strings.Repeat(`[`, maxWalkDepth) + strings.Repeat("]", maxWalkDepth), nil},
	}
	for _, c := range cases {
		got, ok := walkTrace(c.data)
		if ok != (c.want != nil) || ok && strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("walkObject(%s) = %v %q, want %q", c.data, ok, got, c.want)
		}
		if ok && !gjson.Valid(c.data) {
			t.Errorf("walkObject vouched for %s, which gjson rejects", c.data)
		}
	}
}

// TestWalkObjectStops checks that a visitor returning false ends the walk
// with false.
func TestWalkObjectStops(t *testing.T) {
	n := 0
	ok := walkObject([]byte(`{"a":1,"b":2,"c":3}`), 1, visitFunc(func(_ int, _, key, _ []byte) bool {
		n++
		return string(key) != "b"
	}))
	if ok || n != 2 {
		t.Fatalf("ok %v after %d members", ok, n)
	}
}

func TestStringEndEveryAlignment(t *testing.T) {
	// Each special byte at each position of an 8-byte word, and beyond.
	for n := range 20 {
		for _, tail := range []string{`"`, `\"x"`, "\x01\"", `\u0041"`, `\q"`, ``} {
			s := strings.Repeat("é", n/2) + strings.Repeat("a", n%2) + tail
			end, escaped, ok := stringEnd([]byte(s), 0)
			wantOK := gjson.Valid(`"` + s)
			if ok != wantOK || ok && (end != len(s) || escaped != strings.Contains(s, `\`)) {
				t.Errorf("stringEnd(%q) = %d %v %v", s, end, escaped, ok)
			}
		}
	}
}

func TestPlainCount(t *testing.T) {
	for _, c := range []struct {
		raw   string
		plain bool // read here rather than left to gjson
	}{
		{"0", true}, {"7", true}, {"123456789012345", true},
		{"1234567890123456", false}, {"9007199254740993", false},
		{"-1", false}, {"1.5", false}, {"1e3", false}, {`"12"`, false}, {"null", false}, {`{"a":1}`, false}, {"", false},
	} {
		v, ok := plainCount([]byte(c.raw))
		if ok != c.plain {
			t.Errorf("plainCount(%s) ok = %v, want %v", c.raw, ok, c.plain)
		}
		if want, _ := count(gjson.Parse(c.raw)); ok && v != want {
			t.Errorf("plainCount(%s) = %d, gjson reads %d", c.raw, v, want)
		}
	}
}

// FuzzWalkObject checks walkObject against gjson: it vouches only for what
// gjson.Valid accepts, for every valid object it can read (shallow, no
// escaped keys), and its top-level members are gjson's.
func FuzzWalkObject(f *testing.F) {
	for _, s := range []string{
		`{"a" : "x\"y" , "b":[1, {"c":null}],"d":{}}`,
		`{"n":[-0.5e+3,0,10,1E9,true,false],"u":"\u00e9"}`,
		gemChunk(`"promptTokenCount": 9`, `"finishReason": "STOP"`),
		chatDelta,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var keys, raws []string
		ok := walkObject([]byte(data), 1, visitFunc(func(depth int, _, key, value []byte) bool {
			if depth == 1 {
				keys, raws = append(keys, string(key)), append(raws, string(value))
			}
			return true
		}))
		valid := gjson.Valid(data)
		if ok && !valid {
			t.Fatalf("vouched for invalid JSON %q", data)
		}
		root := gjson.Parse(data)
		readable := valid && root.IsObject() && !strings.Contains(data, `\`) && !deeper(data, maxWalkDepth)
		if readable && !ok {
			t.Fatalf("rejected readable JSON %q", data)
		}
		if !ok {
			return
		}
		n := 0
		root.ForEach(func(k, v gjson.Result) bool {
			if n >= len(keys) || k.Str != keys[n] || v.Raw != raws[n] {
				t.Fatalf("member %d: gjson %q=%q, walkObject %q", n, k.Str, v.Raw, keys)
			}
			n++
			return true
		})
		if n != len(keys) {
			t.Fatalf("gjson saw %d members, walkObject %d", n, len(keys))
		}
	})
}

// deeper reports whether brackets outside strings in valid JSON d nest
// deeper than max.
func deeper(d string, max int) bool {
	depth, inStr := 0, false
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			if depth++; depth > max {
				return true
			}
		case !inStr && (c == '}' || c == ']'):
			depth--
		}
	}
	return false
}
