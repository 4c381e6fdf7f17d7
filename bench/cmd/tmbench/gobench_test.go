package main

import (
	"reflect"
	"testing"
)

// TestParseGoBench reads native output, whose names end in the GOMAXPROCS
// suffix, and output from WebAssembly, where GOMAXPROCS is 1 and go test
// writes no suffix, so a name's own dash must stay.
func TestParseGoBench(t *testing.T) {
	out := []byte(`goos: linux
pkg: github.com/tokenmeter/tokenmeter/sseparse
BenchmarkDecode/openai-2         	  141415	      8483 ns/op	11896.50 MB/s	       0 B/op	       0 allocs/op
PASS
pkg: github.com/tokenmeter/tokenmeter/parsers
BenchmarkOpenAIChatStream      	    7599	    156967 ns/op	 741.96 MB/s	      28 B/op	       2 allocs/op
BenchmarkDecode/x-y         	   19177	     56054 ns/op
`)
	want := []goBenchResult{
		{Package: "sseparse", Name: "Decode/openai", NsPerOp: 8483, MBPerS: 11896.5},
		{Package: "parsers", Name: "OpenAIChatStream", NsPerOp: 156967, MBPerS: 741.96, BytesPerOp: 28, AllocsPerOp: 2},
		{Package: "parsers", Name: "Decode/x-y", NsPerOp: 56054},
	}
	if got := parseGoBench(out); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
