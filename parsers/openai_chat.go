package parsers

// STUB: to be written.
func newOpenAIChat() Parser { return nil }
