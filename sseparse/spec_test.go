package sseparse

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// specSSE is a deliberately naive, whole-body reading of the WHATWG
// event-stream rules, written independently of the decoder as a reference:
// split all lines first, then interpret them. It flushes an unterminated
// last event like the decoder, and knows none of the leniencies, so inputs
// that would trigger one are rejected (ok false).
func specSSE(body []byte) (evs []ev, unterminated, ok bool) {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	var lines [][]byte
	for len(body) > 0 {
		i := bytes.IndexAny(body, "\r\n")
		if i < 0 {
			lines = append(lines, body)
			break
		}
		lines = append(lines, body[:i])
		if body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n' {
			i++
		}
		body = body[i+1:]
	}
	var data []byte
	var typ, id string
	retry := int64(-1)
	dispatch := func() {
		if len(data) > 0 {
			evs = append(evs, ev{Name: typ, Data: string(data[:len(data)-1]), ID: id, Retry: retry})
		}
		data, typ, retry = data[:0], "", -1
	}
	for _, l := range lines {
		switch {
		case len(l) == 0:
			dispatch()
			continue
		case l[0] == ':':
			continue
		case bytes.ContainsRune(l, '{'):
			return nil, false, false // bare JSON or multi-object data: leniencies
		}
		name, value, found := bytes.Cut(l, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(name) {
		case "event":
			if bytes.Contains(value, []byte(" data:")) {
				return nil, false, false // event and data on one line: a leniency
			}
			typ = string(value)
		case "data":
			data = append(append(data, value...), '\n')
		case "id":
			if !bytes.ContainsRune(value, 0) {
				id = string(value)
			}
		case "retry":
			if len(value) > 0 && strings.Trim(string(value), "0123456789") == "" && len(value) < 18 {
				retry = 0
				for _, c := range value {
					retry = retry*10 + int64(c-'0')
				}
			}
		}
	}
	if len(data) > 0 {
		unterminated = true
		dispatch()
	}
	return evs, unterminated, true
}

// TestSSEMatchesSpecReference compares the decoder with specSSE on many
// random streams built from the tokens that matter to the grammar, fed whole
// and in random pieces.
func TestSSEMatchesSpecReference(t *testing.T) {
	tokens := []string{"data", "event", "id", "retry", ":", " ", "  ", "\t", "\r", "\n", "\r\n", "\n\n",
		"x", "yz", "42", "\x00", "é", "\xEF\xBB\xBF", ": c", "Data", "dat", "data:", "event:", "id:", "retry:"}
	rng := rand.New(rand.NewPCG(7, 7))
	checked := 0
	for range 30000 {
		var sb strings.Builder
		for range rng.IntN(30) {
			sb.WriteString(tokens[rng.IntN(len(tokens))])
		}
		body := []byte(sb.String())
		evs, unterminated, ok := specSSE(body)
		if !ok {
			continue
		}
		checked++
		want := outcome{Events: evs, Stats: Stats{Events: uint64(len(evs)), Unterminated: unterminated}}
		pts := []int{rng.IntN(len(body) + 1), rng.IntN(len(body) + 1)}
		if pts[0] > pts[1] {
			pts[0], pts[1] = pts[1], pts[0]
		}
		for _, chunks := range [][][]byte{{body}, splitAt(body, pts...)} {
			if got := run(NewSSE(0), chunks); !reflect.DeepEqual(got, want) {
				t.Fatalf("body %q:\n got %v\nwant %v", body, got, want)
			}
		}
	}
	if checked < 20000 {
		t.Fatalf("only %d streams checked", checked)
	}
}
