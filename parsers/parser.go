// Package parsers turns the messages of an LLM response (framed by
// sseparse, or a whole non-stream body) into one normalized record: usage,
// model, completion and errors, for every provider wire format.
//
// One file per wire format. Parsers read fields with gjson and never decode
// whole events; most events are rejected by a cheap byte scan before gjson
// runs at all. A Parser is per stream and not safe for concurrent use.
//
// # Normalized usage
//
// Every parser fills Usage with the same meaning, whatever the provider:
//
//	field                 meaning                                  from
//	InputTokens           every prompt-side token, cached or not   OpenAI & compatibles: prompt_tokens
//	                                                               Responses: input_tokens
//	                                                               Anthropic: input + cache_read + cache_creation
//	                                                               Gemini: promptTokenCount + toolUsePromptTokenCount
//	                                                               Bedrock Converse: inputTokens + cacheRead + cacheWrite
//	                                                               Bedrock invocationMetrics: inputTokenCount + cache…
//	                                                               Ollama: prompt_eval_count
//	                                                               Cohere: billed_units.input_tokens
//	OutputTokens          every generated token incl. reasoning    OpenAI: completion_tokens (xAI: + reasoning)
//	                                                               Anthropic: output_tokens
//	                                                               Gemini: candidatesTokenCount + thoughtsTokenCount
//	                                                               Bedrock: outputTokens / outputTokenCount
//	                                                               Ollama: eval_count
//	                                                               Cohere: billed_units.output_tokens
//	CacheReadTokens       part of InputTokens read from cache
//	CacheCreationTokens   part of InputTokens written to cache
//	ReasoningTokens       part of OutputTokens spent reasoning
//	TotalTokens           InputTokens + OutputTokens, always ours
//
// Streamed figures are running totals: the latest report wins, nothing is
// summed, and a later zero or missing field never erases an earlier value.
// Where the provider's own total disagrees with ours, ours is kept and
// TotalMismatch is set. The provider's raw numbers stay in Usage.Raw.
package parsers

// API names a wire format. Detection (which API a request speaks) is the
// plugin's job; a parser only knows its own format.
type API uint8

// The wire formats tokenmeter understands.
const (
	APIUnknown API = iota
	APIOpenAIChat
	APIOpenAIResponses
	APIAnthropicMessages
	APIGemini
	APIBedrockConverse
	APIBedrockInvoke
	APIOllama
	APICohere
)

var apiNames = [...]string{
	APIUnknown:           "unknown",
	APIOpenAIChat:        "openai_chat",
	APIOpenAIResponses:   "openai_responses",
	APIAnthropicMessages: "anthropic_messages",
	APIGemini:            "gemini",
	APIBedrockConverse:   "bedrock_converse",
	APIBedrockInvoke:     "bedrock_invoke",
	APIOllama:            "ollama",
	APICohere:            "cohere",
}

// String returns the API's stable name, used in config, filter state and metrics.
func (a API) String() string {
	if int(a) < len(apiNames) {
		return apiNames[a]
	}
	return apiNames[APIUnknown]
}

// ParseAPI maps a stable name back to its API, for configuration.
func ParseAPI(name string) (API, bool) {
	for i, n := range apiNames {
		if n == name && API(i) != APIUnknown {
			return API(i), true
		}
	}
	return APIUnknown, false
}

// Kind classifies one message so the proxy can decide when its prefetch
// has seen enough.
type Kind uint8

// Message kinds.
const (
	// KindIgnored is a keep-alive, ping, empty or unknown message: it says
	// nothing about whether the call succeeded.
	KindIgnored Kind = iota
	// KindMeaningful is a message that shows the call is under way or done.
	KindMeaningful
	// KindError is a message that reports an error.
	KindError
	// KindMalformed is a message that should have been JSON and was not.
	KindMalformed
)

// Parser consumes one response and accumulates its Result.
type Parser interface {
	// Message consumes one streamed message: for SSE the event name (may be
	// empty) and data; for JSON arrays and NDJSON a nil name and the element;
	// for the AWS eventstream an event frame's :event-type and payload
	// (frames of other message types go through Dispatch).
	Message(name, data []byte) Kind
	// Body consumes a complete non-stream body (leading whitespace allowed).
	Body(data []byte) Kind
	// Result returns the record so far. The pointer stays valid and keeps
	// being updated until Reset.
	Result() *Result
	// Reset makes the parser ready for another response.
	Reset()
}

// New returns a fresh parser for api, or nil for APIUnknown.
func New(api API) Parser {
	switch api {
	case APIOpenAIChat:
		return newOpenAIChat()
	case APIOpenAIResponses:
		return newOpenAIResponses()
	case APIAnthropicMessages:
		return newAnthropic()
	case APIGemini:
		return newGemini()
	case APIBedrockConverse:
		return newBedrockConverse()
	case APIBedrockInvoke:
		return newBedrockInvoke()
	case APIOllama:
		return newOllama()
	case APICohere:
		return newCohere()
	}
	return nil
}

// TypedParser is implemented by the parsers of framings whose messages carry
// a type besides their name: the AWS eventstream's :message-type, the only
// thing that tells an exception frame from an event (sseparse.Event's
// MessageType).
type TypedParser interface {
	Parser
	// TypedMessage is Message for a message of type msgType: "" or "event"
	// for an ordinary event, "exception" or "error" for the two kinds of
	// error frame.
	TypedMessage(msgType, name, data []byte) Kind
}

// Dispatch hands one framed message to p: to TypedMessage when the framer
// gave it a message type and p understands one, else to Message. A proxy
// calls it for every framed message, so that it need not know which
// framings carry types.
func Dispatch(p Parser, msgType, name, data []byte) Kind {
	if len(msgType) > 0 {
		if tp, ok := p.(TypedParser); ok {
			return tp.TypedMessage(msgType, name, data)
		}
	}
	return p.Message(name, data)
}

// Result is what a parser knows about one response so far.
type Result struct {
	// Model is the model the response reports ("" when it reports none, as
	// Bedrock Converse and Cohere v2 bodies never do: the proxy takes it from
	// the request).
	Model string
	// Usage holds the normalized token counts.
	Usage Usage
	// Completed is set once a completion marker was seen: [DONE] or a
	// finish reason (OpenAI Chat), a terminal response.* event (Responses),
	// message_stop (Anthropic), a finishReason or a blocked prompt (Gemini;
	// the closing "]" of a streamed array never reaches the parser),
	// messageStop or the invocation metrics (Bedrock), "done": true
	// (Ollama), message-end (Cohere), or a complete non-stream body that is
	// not an error.
	Completed bool
	// FinishReason is the provider's stop/finish reason, verbatim.
	FinishReason string
	// Vendor is an OpenAI-compatible vendor recognised from the body
	// ("azure", "deepseek", "groq", "openrouter", "xai", "vllm", …), or "".
	Vendor string
	// Err is the first error the response reported; Err.Type is "" if none.
	Err Error
}

// Usage is the normalized token record; see the package comment.
type Usage struct {
	InputTokens         uint64
	OutputTokens        uint64
	CacheReadTokens     uint64
	CacheCreationTokens uint64
	ReasoningTokens     uint64
	TotalTokens         uint64
	// Reported is set once the response carried any usage figure at all;
	// false means "unknown", not zero.
	Reported bool
	// ProviderTotal is the provider's own total, 0 when it gave none.
	ProviderTotal uint64
	// TotalMismatch is set when ProviderTotal disagrees with TotalTokens.
	TotalMismatch bool
	// Cost is a provider-reported price (OpenRouter cost), if CostReported.
	Cost         float64
	CostReported bool
	// Raw keeps the provider's own numbers under their wire names
	// ("prompt_tokens", "usageMetadata.thoughtsTokenCount", …), latest value
	// each. Names are static strings, so filling it does not allocate.
	Raw []RawCount
}

// RawCount is one provider-reported number under its wire name.
type RawCount struct {
	Name  string
	Value uint64
}

// Error is an error reported by the provider, with the HTTP status it maps to.
type Error struct {
	Type    string // provider error type or status ("rate_limit_error", "RESOURCE_EXHAUSTED", …)
	Code    string // provider error code, if any, as text
	Message string // provider message, truncated to MaxErrorMessage bytes
	Status  int    // HTTP-equivalent status, see StatusFor
}

// MaxErrorMessage bounds a stored error message so a hostile body cannot
// inflate per-stream memory or log lines.
const MaxErrorMessage = 512
