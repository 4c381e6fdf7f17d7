package parsers

// STUB: to be written.
func newGemini() Parser { return nil }
