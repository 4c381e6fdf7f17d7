package parsers

// STUB: to be written.
func newOpenAIResponses() Parser { return nil }
