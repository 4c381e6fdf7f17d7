package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
)

// errInflatedTooLarge stops a decompression bomb from growing memory
// beyond the configured body bound.
var errInflatedTooLarge = errors.New("tokenmeter: inflated body exceeds max_body_bytes")

// inflate decompresses a complete gzip or deflate body for inspection; the
// client still gets the original bytes. HTTP "deflate" is meant to be
// zlib-wrapped, but some servers send raw deflate, so both are accepted.
func inflate(body []byte, encoding string, limit int) ([]byte, error) {
	var r io.Reader
	switch encoding {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r = zr
	default:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			r = flate.NewReader(bytes.NewReader(body))
		} else {
			r = zr
		}
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errInflatedTooLarge
	}
	return out, nil
}
