package parsers

import "testing"

// TestAPINames checks every API has a stable name that maps back to it and
// a parser, so that configuration and metrics can name each one.
func TestAPINames(t *testing.T) {
	for a := APIUnknown + 1; int(a) < len(apiNames); a++ {
		name := a.String()
		if got, ok := ParseAPI(name); !ok || got != a || name == "" || name == "unknown" {
			t.Errorf("API %d: name %q parses to %v, %v", a, name, got, ok)
		}
		if New(a) == nil {
			t.Errorf("%s: no parser", name)
		}
	}
	for _, name := range []string{"bedrock_converse", "bedrock_invoke", "ollama", "cohere"} {
		if _, ok := ParseAPI(name); !ok {
			t.Errorf("%s: unknown", name)
		}
	}
	if New(APIUnknown) != nil || API(200).String() != "unknown" {
		t.Error("unknown API has a parser or a name")
	}
}

// TestDispatch checks message types reach the parsers that understand them,
// and that parsers without types see the message through Message.
func TestDispatch(t *testing.T) {
	exc, name, data := []byte("exception"), []byte("throttlingException"), []byte(`{"message":"slow down"}`)
	if k := Dispatch(New(APIBedrockConverse), exc, name, data); k != KindError {
		t.Errorf("typed parser: kind %v", k)
	}
	if k := Dispatch(New(APIBedrockConverse), nil, name, data); k != KindIgnored {
		t.Errorf("typed parser, no type: kind %v", k)
	}
	p := New(APIAnthropicMessages)
	if k := Dispatch(p, exc, []byte("message_stop"), []byte(`{"type":"message_stop"}`)); k != KindMeaningful || !p.Result().Completed {
		t.Errorf("untyped parser: kind %v", k)
	}
}
