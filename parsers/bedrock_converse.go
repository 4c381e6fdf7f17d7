package parsers

import "bytes"

// AWS Bedrock Converse (POST /model/{id}/converse, JSON) and ConverseStream
// (/converse-stream, AWS eventstream), wire-formats §7.1 and §7.2.
//
// A stream is messageStart, content block events, messageStop (stopReason)
// and then metadata (usage, metrics), each a frame whose payload has no
// wrapper key: the event type is the frame's name. Completion is
// messageStop, and usage arrives only after it, so a stream cut between the
// two is Completed with its FinishReason but without usage (Reported false).
// Event types not listed here are skipped, as the AWS SDKs skip them.
//
// Normalization: inputTokens excludes the cache, as Anthropic's does, so
// InputTokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens;
// OutputTokens = outputTokens (Bedrock does not break reasoning out).
// totalTokens includes the cache and is checked against ours: Bedrock has
// been seen reporting an inputTokens that already held the cache for some
// model families, which then shows as TotalMismatch. Raw keeps the wire
// names and the cacheDetails split of cache writes by lifetime.
//
// Exception frames (throttlingException 429, serviceUnavailableException
// 503, validationException 400, internalServerException 500,
// modelStreamErrorException 424) and unmodeled error frames are errors,
// reached through TypedMessage (see bedrockTyped).
//
// Converse bodies name no model: Result.Model stays "" and the proxy takes
// the model from the request path (/model/{id}/…).
//
// A non-stream body is {"output":{"message":…},"stopReason","usage",
// "metrics"}. A body without "output" is an error: HTTP 200 bodies without
// it have been seen for framework errors, and Bedrock's HTTP error bodies,
// {"message":"…"}, have none either (see bedrockErrorBody).

type bedrockConverse struct {
	res Result
	// input is the uncached inputTokens figure; InputTokens adds the two
	// cache figures to it.
	input uint64
}

func newBedrockConverse() Parser { return &bedrockConverse{} }

func (b *bedrockConverse) Message(name, data []byte) Kind {
	d := bytes.TrimSpace(data)
	switch string(name) {
	case "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop":
		// Most of a stream, and nothing the Result needs: no parsing.
		if braced(d) {
			return KindMeaningful
		}
		return notObject(d)
	case "messageStop", "metadata":
	default:
		return KindIgnored
	}
	ev, ok := object(d)
	if !ok {
		return KindMalformed
	}
	if string(name) == "messageStop" {
		b.res.setFinishReason(ev.Get("stopReason").Str)
		b.res.Completed = true
	} else {
		converseUsage.read(&b.res.Usage, &b.input, ev.Get("usage"))
	}
	return KindMeaningful
}

func (b *bedrockConverse) TypedMessage(msgType, name, data []byte) Kind {
	return bedrockTyped(b, &b.res, msgType, name, data)
}

func (b *bedrockConverse) Body(data []byte) Kind {
	body, k, ok := bodyObject(data)
	if !ok {
		return k
	}
	if !body.Get("output").Exists() {
		return bedrockErrorBody(&b.res, body)
	}
	b.res.setFinishReason(body.Get("stopReason").Str)
	converseUsage.read(&b.res.Usage, &b.input, body.Get("usage"))
	b.res.Completed = true
	return KindMeaningful
}

func (b *bedrockConverse) Result() *Result { return &b.res }

func (b *bedrockConverse) Reset() {
	b.res.reset()
	b.input = 0
}
