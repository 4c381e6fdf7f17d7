package parsers

import "testing"

func TestOpenAIResponsesFixtures(t *testing.T) {
	runFixtures(t, APIOpenAIResponses, "openai_responses")
}
