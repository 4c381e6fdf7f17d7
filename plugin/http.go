package main

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/tokenmeter/tokenmeter/parsers"
	"github.com/tokenmeter/tokenmeter/sseparse"
)

// bodyMode is how the response body of a metered call is handled.
type bodyMode uint8

const (
	modeNone    bodyMode = iota // nothing to inspect (not metered, no body, or given up)
	modeStream                  // framed and parsed chunk by chunk as it passes
	modeWhole                   // one JSON document, held (status 200) or copied, parsed at its end
	modeCollect                 // compressed stream: copied, then inflated and parsed at its end
)

// httpContext meters one call. It changes nothing in the traffic but what
// its configuration asks for: it holds the response headers during the
// prefetch, turns an embedded error found there into an error status, and
// with inject_stream_usage adds include_usage to the request and removes
// the usage chunk that results from the response.
type httpContext struct {
	types.DefaultHttpContext
	id     uint32
	plugin *pluginContext
	cfg    *Config

	metered   bool
	broken    bool // a callback panicked: pass everything through
	req       request
	requestID string
	reqModel  string
	reqStream bool
	reqBody   []byte
	reqOver   bool
	// Usage injection (inject_stream_usage): the request body is held to
	// its end so stream_options can be added; strip then removes the
	// added usage chunk from the response.
	injectable bool
	injected   bool
	strip      *usageStripper
	tail       [4]byte // last bytes of the held body, to know if it ended an event
	tailLen    int

	// start, firstByte and end are stamps: only durations are taken.
	start      int64
	firstByte  int64
	end        int64
	status     int
	encoding   string // "", "gzip" or "deflate"
	mode       bodyMode
	framingSet bool
	framing    framing
	framer     sseparse.Framer
	parser     parsers.Parser
	// A stream's head goes through the framer up to its first meaningful
	// message (headDone); after that, unless ParseEveryEvent, its bytes go
	// to ending, which keeps the end that the framer gets when the stream
	// ends. atBoundary says the bytes framed so far end a message.
	headDone   bool
	atBoundary bool
	ending     *sseparse.Tail
	endingDone bool
	event      sseparse.Event
	body       []byte // inspection copy for modeWhole and modeCollect
	bodyOver   bool

	// Prefetch: while holding, Envoy buffers the body and each callback
	// sees all of it; consumed counts the bytes already fed.
	holding        bool
	heldAt         int64 // a stamp
	consumed       int
	prefetchEvents int
	firstKind      parsers.Kind // first message that was not ignored
	localReply     int          // status an embedded error was turned into, 0 if none
	// upstreamFilter is set when the plugin runs in a cluster's
	// upstream_http_filters, where Envoy forwards a local reply without
	// retrying: an embedded error rewrites the status there instead.
	upstreamFilter bool

	responseDone bool
	upstreamCut  bool   // the call ended early because the upstream went away
	lastState    []byte // the llm.usage JSON last written
	emitted      bool
}

// fail is deferred by every callback: a panic costs metering, never
// traffic. The call is marked broken and passed through, then counted.
func (h *httpContext) fail(action *types.Action) {
	r := recover()
	if r == nil {
		return
	}
	h.broken = true
	if action != nil {
		*action = types.ActionContinue
	}
	if h.holding {
		h.release()
	}
	h.plugin.countPanic(r)
}

// OnHttpRequestHeaders decides whether the call is metered at all.
func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) (action types.Action) {
	defer h.fail(&action)
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	h.cfg = h.plugin.config.forRequest(routeName, path)
	if !h.cfg.Enabled {
		h.plugin.metrics.count(metricSkipped, 1)
		return types.ActionContinue
	}
	method, _ := proxywasm.GetHttpRequestHeader(":method")
	host, _ := proxywasm.GetHttpRequestHeader(":authority")
	req, ok := detectRequest(method, path, host, h.cfg.API)
	if !ok {
		h.plugin.metrics.count(metricSkipped, 1)
		return types.ActionContinue
	}
	h.metered = true
	h.req = req
	_, err := proxywasm.GetProperty([]string{"upstream", "address"})
	h.upstreamFilter = err == nil
	h.start = stamp()
	h.requestID, _ = proxywasm.GetHttpRequestHeader("x-request-id")
	h.reqStream = req.stream
	if h.cfg.InjectStreamUsage && req.api == parsers.APIOpenAIChat && !endOfStream {
		h.injectable = true
		_ = proxywasm.RemoveHttpRequestHeader("content-length")
	}
	return types.ActionContinue
}

// routeName is Envoy's name for the route of the call, or "".
func routeName() string {
	v, _ := proxywasm.GetProperty([]string{"xds", "route_name"})
	return string(v)
}

// OnHttpRequestBody copies the JSON request body (bounded) to learn the
// requested model and whether a stream was asked for; the body itself
// passes on unchanged and at once.
func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) (action types.Action) {
	defer h.fail(&action)
	if !h.metered || h.broken || h.reqOver {
		return types.ActionContinue
	}
	if h.injectable {
		return h.injectRequest(bodySize, endOfStream)
	}
	if bodySize > 0 {
		if len(h.reqBody)+bodySize > h.cfg.MaxRequestBytes {
			h.reqOver, h.reqBody = true, nil
			h.plugin.metrics.count(metricBodyTooLarge, 1)
			return types.ActionContinue
		}
		chunk, err := proxywasm.GetHttpRequestBody(0, bodySize)
		if err != nil {
			return types.ActionContinue
		}
		h.reqBody = append(h.reqBody, chunk...)
	}
	if endOfStream {
		h.readRequest()
	}
	return types.ActionContinue
}

// injectRequest holds the request body to its end (bounded by
// max_request_bytes) and adds stream_options.include_usage when a stream
// request leaves it unset.
func (h *httpContext) injectRequest(bodySize int, endOfStream bool) types.Action {
	if bodySize > h.cfg.MaxRequestBytes {
		h.injectable, h.reqOver = false, true
		h.plugin.metrics.count(metricBodyTooLarge, 1)
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	h.injectable = false
	if bodySize == 0 {
		return types.ActionContinue
	}
	body, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil {
		return types.ActionContinue
	}
	h.reqBody = body
	h.readRequest()
	if changed := injectIncludeUsage(body); changed != nil {
		if err := proxywasm.ReplaceHttpRequestBody(changed); err == nil {
			h.injected = true
		}
	}
	return types.ActionContinue
}

func (h *httpContext) readRequest() {
	if model := gjson.GetBytes(h.reqBody, "model"); model.Type == gjson.String {
		h.reqModel = model.Str
	}
	switch gjson.GetBytes(h.reqBody, "stream").Type {
	case gjson.True:
		h.reqStream = true
	case gjson.False:
		h.reqStream = false
	}
	h.reqBody = nil
}

// OnHttpResponseHeaders chooses how to read the body and, for a metered
// 200 response, holds the headers for the prefetch.
func (h *httpContext) OnHttpResponseHeaders(_ int, endOfStream bool) (action types.Action) {
	defer h.fail(&action)
	if !h.metered || h.broken {
		return types.ActionContinue
	}
	if h.reqBody != nil { // the request ended without its end-of-stream body callback
		h.readRequest()
	}
	statusText, _ := proxywasm.GetHttpResponseHeader(":status")
	h.status, _ = strconv.Atoi(statusText)
	h.parser = parsers.New(h.req.api)
	if endOfStream {
		h.responseDone = true
		h.end = stamp()
		h.publish()
		return types.ActionContinue
	}
	switch enc, _ := proxywasm.GetHttpResponseHeader("content-encoding"); strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
	case "gzip", "x-gzip":
		h.encoding = "gzip"
	case "deflate":
		h.encoding = "deflate"
	default:
		h.plugin.metrics.count(metricNotInspectable, 1)
		return types.ActionContinue
	}
	contentType, _ := proxywasm.GetHttpResponseHeader("content-type")
	h.framing, h.framingSet = framingFromContentType(contentType, h.req)
	if h.status != 200 {
		// An error status (or an unusual success) is not held: the client
		// sees it as it is; its body is copied to read the error.
		h.mode = modeWhole
		if h.framingSet && h.framing != framingWhole && h.status < 300 {
			h.startStream()
		}
		return types.ActionContinue
	}
	h.mode = modeWhole
	if h.framingSet && h.framing != framingWhole {
		h.startStream()
	}
	if h.injected && h.mode == modeStream && h.framing == framingSSE {
		h.strip = &usageStripper{maxEvent: h.cfg.MaxEventBytes}
		_ = proxywasm.RemoveHttpResponseHeader("content-length")
	}
	if h.mode == modeCollect || h.cfg.PrefetchMaxBytes == 0 {
		return types.ActionContinue
	}
	h.hold()
	return types.ActionPause
}

// startStream sets up incremental framing, or collection when the stream
// is compressed and cannot be inflated piece by piece.
func (h *httpContext) startStream() {
	if h.encoding != "" {
		h.mode = modeCollect
		return
	}
	h.mode = modeStream
	switch h.framing {
	case framingJSONArray:
		h.framer = sseparse.NewJSONArray(h.cfg.MaxEventBytes)
	case framingNDJSON:
		h.framer = sseparse.NewNDJSON(h.cfg.MaxEventBytes)
	case framingEventStream:
		h.framer = sseparse.NewEventStream(h.cfg.MaxEventBytes)
	default:
		h.framer = sseparse.NewSSE(h.cfg.MaxEventBytes)
	}
}

func (h *httpContext) hold() {
	h.holding = true
	h.heldAt = stamp()
	h.plugin.held[h.id] = h
}

// release ends the prefetch; Envoy then sends the held headers and body,
// and later callbacks see only new bytes.
func (h *httpContext) release() {
	h.holding = false
	h.consumed = 0
	delete(h.plugin.held, h.id)
}

// stamp is a reading of the host's monotonic clock in nanoseconds, never 0,
// which marks a time not taken yet.
func stamp() int64 { return max(monotonicNanos(), 1) }

// OnHttpResponseBody inspects each chunk. Outside the prefetch it always
// returns Continue: the bytes go on unchanged and at once.
func (h *httpContext) OnHttpResponseBody(bodySize int, endOfStream bool) (action types.Action) {
	defer h.fail(&action)
	if !h.metered || h.broken || h.localReply != 0 {
		return types.ActionContinue
	}
	if h.firstByte == 0 && bodySize > 0 {
		h.firstByte = stamp()
	}
	if !h.framingSet && bodySize > 0 {
		h.framingSet = true
		first, _ := responseBody(0, min(bodySize, 64))
		if h.framing = framingFromBody(first, h.req); h.framing != framingWhole {
			h.startStream()
		}
	}
	var act types.Action
	switch h.mode {
	case modeStream:
		act = h.streamBody(bodySize, endOfStream)
	case modeWhole, modeCollect:
		act = h.wholeBody(bodySize, endOfStream)
	default:
		act = types.ActionContinue
	}
	if endOfStream && h.localReply == 0 {
		h.responseDone = true
		h.end = stamp()
		h.publish()
	}
	return act
}

// streamBody feeds new bytes to the framer and parser. While holding, it
// decides when the prefetch has seen enough.
func (h *httpContext) streamBody(bodySize int, endOfStream bool) types.Action {
	from := 0
	if h.holding {
		from = h.consumed
	}
	var body []byte
	switch {
	case h.strip != nil && bodySize > 0:
		// The stripper needs every byte about to be forwarded.
		if b, err := responseBody(0, bodySize); err == nil {
			body = b
			h.feed(b[from:])
		}
	case bodySize > from:
		h.readStream(from, bodySize)
	}
	if endOfStream {
		h.frameEnding()
		h.framer.Close()
		h.drain()
		h.countFramerStats()
	}
	if h.holding {
		h.consumed = bodySize
		h.noteTail(body)
		if h.localReply == 0 && h.firstKind == parsers.KindError && h.cfg.RejectEmbeddedErrors {
			return h.rejectEmbeddedError()
		}
		meaningful := h.firstKind == parsers.KindMeaningful || h.firstKind == parsers.KindError
		if !meaningful && !endOfStream && h.prefetchEvents < h.cfg.PrefetchMaxEvents && bodySize < h.cfg.PrefetchMaxBytes {
			return types.ActionPause
		}
		h.release()
	}
	if h.strip != nil {
		if err := proxywasm.ReplaceHttpResponseBody(h.strip.process(body, endOfStream)); err != nil {
			proxywasm.LogErrorf("tokenmeter: forwarding the stripped stream: %v", err)
		}
	}
	return types.ActionContinue
}

// noteTail remembers the last bytes of the held body, so a release by the
// timer can tell the stripper whether they ended an event.
func (h *httpContext) noteTail(b []byte) {
	if h.strip == nil {
		return
	}
	for _, c := range b[max(0, len(b)-len(h.tail)):] {
		if h.tailLen == len(h.tail) {
			copy(h.tail[:], h.tail[1:])
			h.tailLen--
		}
		h.tail[h.tailLen] = c
		h.tailLen++
	}
}

// headPiece is how much of a long buffered body is read at a time while
// the head of a skimmed stream is parsed, so that the rest need not be
// read whole.
const headPiece = 2 << 10

// skims reports whether the middle of the stream goes to a Tail instead of
// the parser: for SSE and NDJSON, whose message boundaries can be found
// without framing, unless every event is to be parsed.
func (h *httpContext) skims() bool {
	return !h.cfg.ParseEveryEvent && h.strip == nil && (h.framing == framingSSE || h.framing == framingNDJSON)
}

// readStream reads bytes [from, to) of the body Envoy holds for the
// callback and feeds them: piece by piece while the head lasts, and once
// the Tail has taken over, only the end of a span longer than it keeps
// when that end shows all it keeps.
func (h *httpContext) readStream(from, to int) {
	for from < to {
		n := to - from
		if end := h.endSize(); end > 0 && n > end {
			if b, err := responseBody(to-end, end); err == nil && h.ending.AppendEnd(b) {
				return
			}
		} else if h.ending == nil && !h.headDone && h.skims() {
			n = min(n, headPiece)
		}
		b, err := responseBody(from, n)
		if err != nil {
			return
		}
		h.feedStream(b)
		from += n
	}
}

// endSize is how much of the end of a long span the Tail wants, or 0
// before it has taken over.
func (h *httpContext) endSize() int {
	if h.ending == nil {
		return 0
	}
	return h.ending.EndSize()
}

// feedStream hands new bytes of a stream to the framer while its head
// lasts, message by message so the head ends at a message boundary, and
// from then on to the Tail that keeps its end.
func (h *httpContext) feedStream(b []byte) {
	ndjson := h.framing == framingNDJSON
	for h.ending == nil && len(b) > 0 {
		if !h.skims() || h.endingDone {
			h.feed(b)
			return
		}
		if h.headDone {
			h.ending, _ = tails.Get().(*sseparse.Tail)
			if h.ending == nil {
				h.ending = new(sseparse.Tail)
			}
			h.ending.Reset(ndjson, h.cfg.TailBytes, h.cfg.MaxEventBytes, !h.atBoundary)
			break
		}
		p := sseparse.NextBoundary(b, ndjson)
		h.atBoundary = p >= 0
		if p < 0 {
			p = len(b)
		}
		h.feed(b[:p])
		b = b[p:]
	}
	if len(b) > 0 {
		if lead := h.ending.Append(b); len(lead) > 0 {
			h.feed(lead)
		}
	}
}

// frameEnding frames the kept end of a stream that has ended or was cut.
func (h *httpContext) frameEnding() {
	if h.ending == nil {
		return
	}
	end := h.ending
	h.ending, h.endingDone = nil, true
	h.feed(end.Bytes())
	if n := end.Oversize(); n > 0 {
		h.plugin.metrics.count(metricOversizeEvents, n)
	}
	tails.Put(end)
}

// tails are Tails of ended streams, kept for the next ones: a Tail's
// buffer is the largest allocation of a skimmed stream.
var tails sync.Pool

// feed pushes one chunk through the framer and parser.
func (h *httpContext) feed(chunk []byte) {
	h.framer.Feed(chunk)
	h.drain()
}

func (h *httpContext) drain() {
	for h.framer.Next(&h.event) {
		k := parsers.Dispatch(h.parser, h.event.MessageType, h.event.Name, h.event.Data)
		switch k {
		case parsers.KindMalformed:
			h.plugin.metrics.count(metricParseErrors, 1)
		case parsers.KindMeaningful, parsers.KindError:
			h.headDone = true
		}
		if h.holding {
			h.prefetchEvents++
			if h.firstKind == parsers.KindIgnored && (k == parsers.KindMeaningful || k == parsers.KindError) {
				h.firstKind = k
			}
		}
	}
}

func (h *httpContext) countFramerStats() {
	st := h.framer.Stats()
	if st.Oversize > 0 {
		h.plugin.metrics.count(metricOversizeEvents, st.Oversize)
	}
	if st.Malformed > 0 { // bytes that fit no message: one parse error per stream
		h.plugin.metrics.count(metricParseErrors, 1)
	}
}

// wholeBody handles a non-stream (or compressed) body: it is copied,
// bounded by max_body_bytes, and parsed at its end. A held 200 response
// stays held while it is small (errors are), until its end or
// prefetch_max_bytes, so an error inside it can still become an error
// status; a larger body is released and inspected from the copy. Holding
// more would run into Envoy's buffer limit (1 MiB by default), past which
// Envoy answers 500 itself.
func (h *httpContext) wholeBody(bodySize int, endOfStream bool) types.Action {
	from := 0
	if h.holding {
		from, h.consumed = h.consumed, bodySize
	}
	if !h.bodyOver && bodySize > from {
		if len(h.body)+bodySize-from > h.cfg.MaxBodyBytes {
			h.bodyOver, h.body = true, nil
			h.plugin.metrics.count(metricBodyTooLarge, 1)
		} else if chunk, err := responseBody(from, bodySize-from); err == nil {
			h.body = append(h.body, chunk...)
		}
	}
	if endOfStream && !h.bodyOver {
		h.parseWhole(h.body)
		h.body = nil
		if h.holding && h.parser.Result().Err.Type != "" && h.cfg.RejectEmbeddedErrors {
			return h.rejectEmbeddedError()
		}
	}
	if h.holding && !endOfStream && bodySize < h.cfg.PrefetchMaxBytes {
		return types.ActionPause
	}
	if h.holding {
		h.release()
	}
	return types.ActionContinue
}

// parseWhole parses a complete body, inflating it first if needed.
func (h *httpContext) parseWhole(body []byte) {
	if h.encoding != "" {
		plain, err := inflate(body, h.encoding, h.cfg.MaxBodyBytes)
		if err != nil {
			h.plugin.metrics.count(metricParseErrors, 1)
			return
		}
		body = plain
	}
	if h.mode == modeCollect {
		h.framer = nil
		h.encoding = ""
		h.startStream()
		h.feed(body)
		h.framer.Close()
		h.drain()
		h.countFramerStats()
		return
	}
	if h.parser.Body(bytes.TrimSpace(body)) == parsers.KindMalformed {
		h.plugin.metrics.count(metricParseErrors, 1)
	}
}

// rejectEmbeddedError turns a 200 response whose first meaningful message
// is an error into a real error status, so clients and Envoy's retry
// policy see the failure for what it is: a local reply with the mapped
// status and a JSON error body, or, in an upstream filter (whose local
// replies Envoy does not retry), the held response with its status
// rewritten. It returns the action the body callback must return.
func (h *httpContext) rejectEmbeddedError() types.Action {
	e := h.parser.Result().Err
	status := e.Status
	if status < 400 || status > 599 {
		status = 502
	}
	h.release()
	h.localReply = status
	h.responseDone = true
	h.end = stamp()
	h.publish()
	if h.upstreamFilter {
		_ = proxywasm.ReplaceHttpResponseHeader(":status", strconv.Itoa(status))
		_ = proxywasm.ReplaceHttpResponseHeader(embeddedErrorHeader, e.Type)
		return types.ActionContinue
	}
	body := make([]byte, 0, 256)
	body = append(body, `{"error":{`...)
	body = appendStringField(body, "type", e.Type, false)
	body = appendStringField(body, "message", e.Message, true)
	body = appendStringField(body, "provider", h.provider(), true)
	body = append(body, '}', '}')
	headers := [][2]string{{"content-type", "application/json"}, {embeddedErrorHeader, e.Type}}
	if err := proxywasm.SendHttpResponse(uint32(status), headers, body, -1); err != nil {
		proxywasm.LogErrorf("tokenmeter: sending the embedded-error reply: %v", err)
	}
	return types.ActionPause
}

// embeddedErrorHeader marks a response tokenmeter made from an error the
// provider hid in a 200; its value is the provider's error type.
const embeddedErrorHeader = "x-tokenmeter-embedded-error"

// provider is the detected provider, refined by a vendor the parser
// recognised in the body of an OpenAI-compatible call.
func (h *httpContext) provider() string {
	if h.parser != nil && !h.req.providerKnown {
		if v := h.parser.Result().Vendor; v != "" {
			return v
		}
	}
	return h.req.provider
}

// OnHttpStreamDone runs when Envoy is done with the call, whether it ended
// or the client left. It settles the outcome and emits metrics and the log.
func (h *httpContext) OnHttpStreamDone() {
	defer h.fail(nil)
	if h.holding {
		h.release()
	}
	if !h.metered || h.broken || h.emitted || h.cfg.Guard {
		return
	}
	if h.end == 0 {
		h.end = stamp()
	}
	if !h.responseDone {
		details, _ := proxywasm.GetProperty([]string{"response", "code_details"})
		h.upstreamCut = bytes.Contains(details, []byte("upstream"))
		h.frameEnding()
	}
	r := h.publish()
	h.emitted = true
	h.plugin.metrics.emitCall(r, h.cfg.MaxModels)
	if h.cfg.LogJSON {
		proxywasm.LogInfo(logLine(h.requestID, h.lastState))
	}
}

// publish builds the record and writes it to filter state if it changed
// since the last write; h.lastState then holds its llm.usage JSON.
func (h *httpContext) publish() *record {
	r := h.buildRecord()
	if h.cfg.Guard {
		return r
	}
	state := r.appendJSON(make([]byte, 0, 512))
	if !bytes.Equal(state, h.lastState) {
		r.writeFilterState(state)
		h.lastState = state
	}
	return r
}

func (h *httpContext) buildRecord() *record {
	r := &record{
		provider:   h.provider(),
		api:        h.req.api.String(),
		stream:     h.reqStream || h.mode == modeStream || h.mode == modeCollect,
		status:     h.status,
		ttfbMS:     -1,
		durationMS: (h.end - h.start) / 1e6,
	}
	if h.firstByte != 0 {
		r.ttfbMS = (h.firstByte - h.start) / 1e6
	}
	var res *parsers.Result
	if h.parser != nil {
		res = h.parser.Result()
		if res.Model != "" {
			r.model = res.Model
		}
		r.usage = res.Usage
		r.usage.Raw = nil
		r.finishReason = res.FinishReason
		r.errorType = res.Err.Type
		r.errorMessage = res.Err.Message
	}
	if r.model == "" {
		r.model = h.requestModel()
	}
	if h.localReply != 0 {
		r.status = h.localReply
	}
	r.outcome = h.outcome(res)
	return r
}

// requestModel is the model the request asked for: named in the path
// (Gemini, Vertex) or in the JSON body.
func (h *httpContext) requestModel() string {
	if h.req.model != "" {
		return h.req.model
	}
	return h.reqModel
}

func (h *httpContext) outcome(res *parsers.Result) string {
	switch {
	case h.localReply != 0:
		return outcomeEmbeddedError
	case h.status >= 400:
		return outcomeUpstreamError
	case res != nil && res.Err.Type != "":
		return outcomeStreamError
	case res != nil && res.Completed:
		return outcomeCompleted
	case !h.responseDone && !h.upstreamCut:
		return outcomeClientDisconnected
	}
	return outcomeIncomplete
}
