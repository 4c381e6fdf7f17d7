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
//
// A fixture's file is its body as the provider sends it, with two
// exceptions (see Render): Bedrock eventstreams are kept readable as
// *.eventstream.txt and encoded into binary frames when served, and an
// OpenAI Chat stream is written as it is sent to a request that sets
// stream_options.include_usage, and loses its usage for requests that do
// not, as OpenAI's does. The server keeps the bodies of the last requests
// it received (Received), so a test can see what a proxy forwarded.
package fakellm

import (
	"bytes"
	"encoding/binary"
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenmeter/tokenmeter/sseparse"
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

// maxReceived is how many request bodies the server keeps for Received.
const maxReceived = 256

// Server replays fixtures from one directory. The zero value is not usable;
// call New.
type Server struct {
	fixtures fs.FS
	requests atomic.Int64

	mu       sync.Mutex
	received map[string][]byte // request body by x-request-id
	order    []string          // ids in received, oldest first
}

// New returns a Server replaying the fixtures under dir.
func New(dir string) *Server {
	return &Server{fixtures: os.DirFS(dir), received: map[string][]byte{}}
}

// Requests is how many requests the server has answered, so a test can tell
// which of several hosts a proxy really used.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Received returns the body of the last request that carried x-request-id
// id (a proxy forwards the client's), as the server got it. Only the last
// maxReceived requests are kept.
func (s *Server) Received(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, ok := s.received[id]
	return body, ok
}

// record keeps a request body for Received, forgetting the oldest beyond
// maxReceived.
func (s *Server) record(id string, body []byte) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.received[id]; !seen {
		s.order = append(s.order, id)
		if len(s.order) > maxReceived {
			delete(s.received, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.received[id] = body
}

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
	s.record(r.Header.Get("x-request-id"), body)
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
	if data, err = Render(name, data, r.URL.Path, body); err != nil {
		http.Error(w, "fakellm: "+name+": "+err.Error(), http.StatusInternalServerError)
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
	return DefaultFixture(r.URL.Path, r.URL.Query().Get("alt"), body)
}

// DefaultFixture is the fixture answered when a request (path, alt query
// parameter and JSON body) names none: one per API shape, so an unmodified
// client gets a plausible answer. Bedrock and Ollama have a stream only
// ("" otherwise: no fixture).
func DefaultFixture(urlPath, alt string, body []byte) string {
	stream := wantsStream(body, false)
	pick := func(streamed, whole string) string {
		if stream {
			return streamed
		}
		return whole
	}
	switch {
	case strings.HasSuffix(urlPath, "/converse-stream"):
		return "bedrock/converse-stream.eventstream.txt"
	case strings.HasSuffix(urlPath, "/api/chat"):
		if wantsStream(body, true) { // Ollama streams unless told not to
			return "ollama/chat-stream.ndjson"
		}
		return ""
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

// wantsStream reports whether a JSON request body asks for a stream; def
// when its "stream" is absent (or the body is not JSON).
func wantsStream(body []byte, def bool) bool {
	var req struct {
		Stream *bool `json:"stream"`
	}
	if json.Unmarshal(body, &req) != nil || req.Stream == nil {
		return def
	}
	return *req.Stream
}

// eventStreamText is the extension of Bedrock fixtures, kept in the
// readable form sseparse.EncodeEventStreamText encodes.
const eventStreamText = ".eventstream.txt"

// ContentType is the content type a fixture is served with, from its
// extension: .sse files are event streams, .ndjson Ollama streams,
// .eventstream.txt AWS eventstreams, everything else JSON.
func ContentType(name string) string {
	switch {
	case strings.HasSuffix(name, eventStreamText):
		return "application/vnd.amazon.eventstream"
	case path.Ext(name) == ".ndjson":
		return "application/x-ndjson"
	case path.Ext(name) == ".sse":
		return "text/event-stream; charset=utf-8"
	}
	return "application/json"
}

// Render returns the body served for fixture name, whose file holds data,
// in answer to a request for urlPath with body reqBody:
//
//   - an .eventstream.txt fixture is encoded into binary eventstream frames
//     (sseparse.EncodeEventStreamText);
//   - an OpenAI Chat stream (.sse on …/chat/completions) is written as sent
//     to a request with stream_options.include_usage true: every chunk has
//     "usage":null and a usage-only chunk ("choices":[]) precedes [DONE].
//     When the request does not set include_usage true, both go, as OpenAI
//     sends no usage at all then (wire-formats §2.2);
//   - anything else is served as it is.
func Render(name string, data []byte, urlPath string, reqBody []byte) ([]byte, error) {
	switch {
	case strings.HasSuffix(name, eventStreamText):
		return sseparse.EncodeEventStreamText(string(data))
	case path.Ext(name) == ".sse" && strings.HasSuffix(urlPath, "/chat/completions") && !includesUsage(reqBody):
		return withoutUsage(name, data), nil
	}
	return data, nil
}

// includesUsage reports whether an OpenAI Chat request body sets
// stream_options.include_usage to true.
func includesUsage(reqBody []byte) bool {
	var req struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	return json.Unmarshal(reqBody, &req) == nil && req.StreamOptions.IncludeUsage
}

// withoutUsage drops the usage-only chunk of an OpenAI Chat stream and the
// "usage":null member of its other chunks, which fixtures write in compact
// JSON.
func withoutUsage(name string, data []byte) []byte {
	var out []byte
	for _, ev := range Events(name, data) {
		if IsUsageChunk(ev) {
			continue
		}
		ev = bytes.Replace(ev, []byte(`,"usage":null`), nil, 1)
		ev = bytes.Replace(ev, []byte(`"usage":null,`), nil, 1)
		out = append(out, ev...)
	}
	return out
}

// IsUsageChunk reports whether an SSE event is the chunk OpenAI adds to a
// Chat stream for stream_options.include_usage: data whose JSON has an
// empty "choices" list and a "usage" object.
func IsUsageChunk(event []byte) bool {
	data, ok := bytes.CutPrefix(bytes.TrimSpace(event), []byte("data:"))
	if !ok {
		return false
	}
	var chunk struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   map[string]any    `json:"usage"`
	}
	return json.Unmarshal(data, &chunk) == nil && chunk.Choices != nil && len(chunk.Choices) == 0 && chunk.Usage != nil
}

// Piece is one write of a replayed body.
type Piece struct {
	Data []byte
	// EventStart is true when the piece begins a new event (or array
	// element); the pacing delay goes before such pieces.
	EventStart bool
}

// Events cuts a rendered fixture (see Render) into its events: SSE events,
// elements of a streamed JSON array, NDJSON lines or eventstream frames. A
// plain JSON body is one event. Joining the events gives data back.
func Events(name string, data []byte) [][]byte {
	switch {
	case path.Ext(name) == ".sse":
		return splitAfterAll(data, [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")})
	case path.Ext(name) == ".ndjson":
		return splitAfterAll(data, [][]byte{[]byte("\n")})
	case strings.HasSuffix(name, eventStreamText):
		return splitFrames(data)
	case isJSONArray(data):
		return splitAfterAll(data, [][]byte{[]byte("\n,")})
	}
	return [][]byte{data}
}

// isJSONArray reports whether a body is a (streamed) JSON array.
func isJSONArray(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
}

// Pieces cuts a rendered fixture into the writes a streaming provider would
// make. Every SSE event and every element of a streamed JSON array is
// split in two at a point derived from the fixture name, so that consumers
// must join events across reads. NDJSON lines and eventstream frames are
// written one per write, as Ollama and Bedrock do; a plain JSON body is one
// write. Joining the pieces gives data back unchanged.
func Pieces(name string, data []byte) []Piece {
	events := Events(name, data)
	if path.Ext(name) != ".sse" && !isJSONArray(data) {
		out := make([]Piece, len(events))
		for i, ev := range events {
			out[i] = Piece{Data: ev, EventStart: true}
		}
		return out
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

// splitFrames cuts an AWS eventstream into its frames, each as long as its
// prelude's total length says; bytes that do not make a frame are the last
// part.
func splitFrames(data []byte) [][]byte {
	var frames [][]byte
	for len(data) > 0 {
		n := 0
		if len(data) >= 4 {
			n = int(binary.BigEndian.Uint32(data))
		}
		if n < 16 || n > len(data) {
			n = len(data)
		}
		frames = append(frames, data[:n])
		data = data[n:]
	}
	return frames
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
