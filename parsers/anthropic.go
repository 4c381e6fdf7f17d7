package parsers

// STUB: to be written.
func newAnthropic() Parser { return nil }
