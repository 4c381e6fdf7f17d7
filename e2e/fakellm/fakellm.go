// Package fakellm is a fake LLM provider for the end-to-end tests and the
// demo. It replays response fixtures (files written from the providers'
// documented wire formats) with the pacing and chunking of a real streaming
// API, so tokenmeter in Envoy sees events split across reads and spread
// over time.
//
// Each request says what to play through x-fake-* headers (see the Header
// constants); a request without them gets the default fixture for its API
// path, so official SDK clients work unchanged. One Server is safe to use
// from many connections at once and serves HTTP/1.1 and h2c on the same
// listener.
package fakellm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Request headers that steer a response. Durations are milliseconds.
const (
	// HeaderFixture names the fixture to replay, relative to the fixtures
	// directory (for example "anthropic/messages-stream.sse").
	HeaderFixture = "x-fake-fixture"
	// HeaderFirstAttemptFixture replaces HeaderFixture on the first attempt
	// only (Envoy's x-envoy-attempt-count absent or 1), so a retried request
	// sees a failure first and a good answer on the retry.
	HeaderFirstAttemptFixture = "x-fake-first-attempt-fixture"
	// HeaderStatus is the HTTP status to answer with (default 200).
	HeaderStatus = "x-fake-status"
	// HeaderFirstDelay holds the first body byte back after the headers.
	HeaderFirstDelay = "x-fake-first-delay-ms"
	// HeaderEventDelay is the pause between streamed events.
	HeaderEventDelay = "x-fake-event-delay-ms"
	// HeaderCutAfter aborts the response after that many body bytes.
	HeaderCutAfter = "x-fake-cut-after"
	// HeaderServed is set on every response to the fixture that was played.
	HeaderServed = "x-fake-served"
)

// defaultEventDelay paces streamed events when the request names no delay:
// long enough that events arrive in separate reads, short enough for tests.
const defaultEventDelay = 3 * time.Millisecond

// maxRequestBody bounds how much of a request body is read to find "stream".
const maxRequestBody = 1 << 20

// Server replays fixtures from one directory. The zero value is not usable;
// call New.
type Server struct {
	fixtures fs.FS
	requests atomic.Int64
}

// New returns a Server replaying the fixtures under dir.
func New(dir string) *Server {
	return &Server{fixtures: os.DirFS(dir)}
}

// Requests is how many requests the server has answered, so a test can tell
// which of several hosts a proxy really used.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Listener is a running Server on one address.
type Listener struct {
	// Addr is the host:port the server listens on.
	Addr string
	srv  *http.Server
}

// Close stops accepting and drops open connections.
func (l *Listener) Close() error { return l.srv.Close() }

// Listen serves s on addr ("127.0.0.1:0" for a free port) with HTTP/1.1 and
// h2c, until Close.
func (s *Server) Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: s, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return &Listener{Addr: ln.Addr().String(), srv: srv}, nil
}

// ServeHTTP plays the fixture the request asks for.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	name := chooseFixture(r, body)
	if name == "" {
		http.Error(w, "fakellm: no fixture for "+r.URL.Path+"; set "+HeaderFixture, http.StatusNotFound)
		return
	}
	if !fs.ValidPath(name) {
		http.Error(w, "fakellm: bad fixture name "+strconv.Quote(name), http.StatusBadRequest)
		return
	}
	data, err := fs.ReadFile(s.fixtures, name)
	if err != nil {
		http.Error(w, "fakellm: "+err.Error(), http.StatusNotFound)
		return
	}
	status, err := headerInt(r, HeaderStatus, http.StatusOK)
	if err != nil {
		http.Error(w, "fakellm: "+err.Error(), http.StatusBadRequest)
		return
	}
	firstDelay, err1 := headerInt(r, HeaderFirstDelay, 0)
	eventDelay, err2 := headerInt(r, HeaderEventDelay, int(defaultEventDelay/time.Millisecond))
	cutAfter, err3 := headerInt(r, HeaderCutAfter, -1)
	if err := errors.Join(err1, err2, err3); err != nil {
		http.Error(w, "fakellm: "+err.Error(), http.StatusBadRequest)
		return
	}

	w.Header().Set("content-type", ContentType(name))
	w.Header().Set(HeaderServed, name)
	w.WriteHeader(status)
	flush(w)
	sleepMS(firstDelay)

	sent := 0
	for i, piece := range Pieces(name, data) {
		if i > 0 && piece.EventStart {
			sleepMS(eventDelay)
		}
		if cutAfter >= 0 && sent+len(piece.Data) > cutAfter {
			w.Write(piece.Data[:cutAfter-sent]) //nolint:errcheck // the peer may be gone; nothing to do
			flush(w)
			panic(http.ErrAbortHandler) // drop the connection (HTTP/1.1) or reset the stream (h2)
		}
		if _, err := w.Write(piece.Data); err != nil {
			return
		}
		flush(w)
		sent += len(piece.Data)
	}
}

// chooseFixture picks the fixture for a request: the headers first, then
// the default for the API path.
func chooseFixture(r *http.Request, body []byte) string {
	if first := r.Header.Get(HeaderFirstAttemptFixture); first != "" {
		if a := r.Header.Get("x-envoy-attempt-count"); a == "" || a == "1" {
			return first
		}
	}
	if name := r.Header.Get(HeaderFixture); name != "" {
		return name
	}
	return DefaultFixture(r.URL.Path, r.URL.Query().Get("alt"), wantsStream(body))
}

// DefaultFixture is the fixture answered when a request names none: one per
// API shape, so an unmodified client gets a plausible answer.
func DefaultFixture(urlPath, alt string, stream bool) string {
	pick := func(streamed, whole string) string {
		if stream {
			return streamed
		}
		return whole
	}
	switch {
	case strings.HasSuffix(urlPath, "/chat/completions"):
		return pick("openai/chat-stream.sse", "openai/chat.json")
	case strings.HasSuffix(urlPath, "/responses"):
		return pick("openai/responses-stream.sse", "openai/responses.json")
	case strings.HasSuffix(urlPath, "/messages"):
		return pick("anthropic/messages-stream.sse", "anthropic/messages.json")
	case strings.HasSuffix(urlPath, ":streamGenerateContent"):
		if alt == "sse" {
			return "gemini/stream-sse.sse"
		}
		return "gemini/stream-array.json"
	case strings.HasSuffix(urlPath, ":generateContent"):
		return "gemini/generate.json"
	}
	return ""
}

// wantsStream reports whether a JSON request body asks for a stream.
func wantsStream(body []byte) bool {
	var req struct {
		Stream bool `json:"stream"`
	}
	return json.Unmarshal(body, &req) == nil && req.Stream
}

// ContentType is the content type a fixture is served with, from its
// extension: .sse files are event streams, everything else JSON.
func ContentType(name string) string {
	if path.Ext(name) == ".sse" {
		return "text/event-stream; charset=utf-8"
	}
	return "application/json"
}

// Piece is one write of a replayed body.
type Piece struct {
	Data []byte
	// EventStart is true when the piece begins a new event (or array
	// element); the pacing delay goes before such pieces.
	EventStart bool
}

// Pieces cuts a fixture into the writes a streaming provider would make:
// every SSE event, and every element of a streamed JSON array, is its own
// event, itself split in two at a point derived from the fixture name so
// that consumers must join events across reads. A plain JSON body is one
// write. Joining the pieces gives data back unchanged.
func Pieces(name string, data []byte) []Piece {
	var events [][]byte
	switch {
	case path.Ext(name) == ".sse":
		events = splitAfterAll(data, [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")})
	case bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("[")):
		events = splitAfterAll(data, [][]byte{[]byte("\n,")})
	default:
		return []Piece{{Data: data, EventStart: true}}
	}
	h := fnv.New32a()
	h.Write([]byte(name)) //nolint:errcheck // hash writes never fail
	seed := h.Sum32()
	var out []Piece
	for i, ev := range events {
		cut := 1 + int((seed+uint32(i)*7919)%uint32(max(len(ev)-1, 1)))
		if cut >= len(ev) {
			out = append(out, Piece{Data: ev, EventStart: true})
			continue
		}
		out = append(out, Piece{Data: ev[:cut], EventStart: true}, Piece{Data: ev[cut:]})
	}
	return out
}

// splitAfterAll cuts data after each occurrence of the earliest of seps;
// the last part keeps whatever follows the final separator.
func splitAfterAll(data []byte, seps [][]byte) [][]byte {
	var parts [][]byte
	for len(data) > 0 {
		at, n := -1, 0
		for _, sep := range seps {
			if i := bytes.Index(data, sep); i >= 0 && (at < 0 || i < at) {
				at, n = i, len(sep)
			}
		}
		if at < 0 {
			parts = append(parts, data)
			break
		}
		parts = append(parts, data[:at+n])
		data = data[at+n:]
	}
	return parts
}

func headerInt(r *http.Request, name string, def int) (int, error) {
	v := r.Header.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("header %s: %w", name, err)
	}
	return n, nil
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func sleepMS(ms int) {
	if ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}
