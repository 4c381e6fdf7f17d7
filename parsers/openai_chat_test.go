package parsers

import "testing"

func TestOpenAIChatFixtures(t *testing.T) { runFixtures(t, APIOpenAIChat, "openai_chat") }
