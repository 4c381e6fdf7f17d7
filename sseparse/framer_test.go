package sseparse

import (
	"reflect"
	"testing"
)

// Behaviour every framer shares, checked on each fixture.

var (
	_ Framer = (*SSE)(nil)
	_ Framer = (*JSONArray)(nil)
	_ Framer = (*NDJSON)(nil)
	_ Framer = (*EventStream)(nil)
)

// TestCloseWithoutDrain checks a caller that calls Close right after the
// last Feed, without draining first, still gets every message.
func TestCloseWithoutDrain(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		want := run(fx.new(0), splitAt(fx.body, len(fx.body)/2))
		f := fx.new(0)
		var got outcome
		var e Event
		drain := func() {
			for f.Next(&e) {
				got.Events = append(got.Events, copyEvent(&e))
			}
		}
		f.Feed(fx.body[:len(fx.body)/2])
		drain()
		f.Feed(fx.body[len(fx.body)/2:])
		f.Close()
		drain()
		got.Stats, got.Err = f.Stats(), f.Err()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", fx.name, got, want)
		}
	}
}

// TestReset checks a framer reused with Reset gives the same result as a
// new one, after a body it left in the middle of a message, and that Next
// keeps returning false once a body is done.
func TestReset(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		want := run(fx.new(0), [][]byte{fx.body})
		f := fx.new(0)
		f.Feed(fx.body[:len(fx.body)-3])
		var e Event
		for f.Next(&e) {
		}
		f.Reset()
		if got := run(f, bytewise(fx.body)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s after Reset:\n got %v\nwant %v", fx.name, got, want)
		}
		for range 2 {
			if f.Next(&e) {
				t.Errorf("%s: Next returned a message after the body was done", fx.name)
			}
		}
	}
}
