package sseparse

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
)

// EncodeEventStreamFrame returns one AWS eventstream frame with the given
// string headers, in order, and payload, both CRCs correct. It is used by
// tests and the fake upstream to produce valid frames, which cannot be
// written by hand. It panics on a header name over 255 bytes or a value
// over 65535 bytes, which no frame can hold.
func EncodeEventStreamFrame(headers [][2]string, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		if len(h[0]) > 0xff || len(h[1]) > 0xffff {
			panic("sseparse: eventstream header too long: " + h[0])
		}
		hlen += 1 + len(h[0]) + 1 + 2 + len(h[1])
	}
	total := esPrelude + hlen + len(payload) + 4
	b := make([]byte, 0, total)
	b = binary.BigEndian.AppendUint32(b, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(hlen))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	for _, h := range headers {
		b = append(b, byte(len(h[0])))
		b = append(b, h[0]...)
		b = append(b, 7) // string
		b = binary.BigEndian.AppendUint16(b, uint16(len(h[1])))
		b = append(b, h[1]...)
	}
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// EncodeEventStreamText encodes an eventstream body written in the readable
// form that fixtures (*.eventstream.txt) are kept in, so they can be
// reviewed and edited as text:
//
//   - frames are blocks of lines separated by blank lines;
//   - in a block, a line "name: value" whose name starts with ':' is a
//     string header; the other lines, joined with "\n", are the payload;
//   - a payload line "bytes: X" stands for {"bytes":"<X in base64>"}, the
//     wrapper InvokeModelWithResponseStream puts around each model event;
//   - lines starting with '#' are comments.
func EncodeEventStreamText(text string) ([]byte, error) {
	var out []byte
	var headers [][2]string
	var payload []string
	inBlock := false
	flush := func() error {
		if !inBlock {
			return nil
		}
		body := strings.Join(payload, "\n")
		if x, ok := strings.CutPrefix(body, "bytes: "); ok {
			if len(payload) > 1 {
				return errors.New("sseparse: a bytes: payload must be one line")
			}
			body = `{"bytes":"` + base64.StdEncoding.EncodeToString([]byte(x)) + `"}`
		}
		for _, h := range headers {
			if len(h[0]) > 0xff || len(h[1]) > 0xffff {
				return errors.New("sseparse: eventstream header too long: " + h[0])
			}
		}
		out = append(out, EncodeEventStreamFrame(headers, []byte(body))...)
		headers, payload, inBlock = headers[:0], payload[:0], false
		return nil
	}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "#"):
		case line == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, ":") && len(payload) == 0:
			name, value, ok := strings.Cut(line, ": ")
			if !ok {
				return nil, errors.New("sseparse: header line without \": \": " + line)
			}
			headers = append(headers, [2]string{name, value})
			inBlock = true
		default:
			payload = append(payload, line)
			inBlock = true
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
