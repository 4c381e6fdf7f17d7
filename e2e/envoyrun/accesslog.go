package envoyrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Entry is one JSON access log line, as configured by the example's
// json_format.
type Entry map[string]any

// String is the value of a field as text ("" when null or absent); numbers
// print as Envoy wrote them.
func (e Entry) String(field string) string {
	switch v := e[field].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// Usage decodes the llm_usage field: the JSON object tokenmeter stored as
// filter state wasm.llm.usage. It is nil when the filter left none.
func (e Entry) Usage() (map[string]any, error) {
	s := e.String("llm_usage")
	if s == "" {
		return nil, nil
	}
	var u map[string]any
	if err := json.Unmarshal([]byte(s), &u); err != nil {
		return nil, fmt.Errorf("llm_usage is not JSON: %w: %q", err, s)
	}
	return u, nil
}

// Follow sends every entry of the access log at path, from its start and
// then as Envoy appends, until ctx ends. Envoy writes whole lines, but a
// line may land in two writes; Follow waits for its newline.
func Follow(ctx context.Context, path string) <-chan Entry {
	out := make(chan Entry)
	go func() {
		defer close(out)
		var f *os.File
		for f == nil {
			var err error
			if f, err = os.Open(path); err != nil && !pause(ctx) {
				return
			}
		}
		defer f.Close()
		r := bufio.NewReader(f)
		var pending []byte
		for {
			chunk, err := r.ReadBytes('\n')
			pending = append(pending, chunk...)
			if err == io.EOF {
				if !pause(ctx) {
					return
				}
				continue
			}
			if err != nil {
				return
			}
			var e Entry
			if json.Unmarshal(bytes.TrimSpace(pending), &e) == nil {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
			pending = pending[:0]
		}
	}()
	return out
}

// pause waits a little before the next look at the file; false once ctx ends.
func pause(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}
