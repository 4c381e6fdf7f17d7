package main

import (
	"encoding/json"
	"os"
)

func writeOutputs(o options, res *results) error {
	if o.results != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		return os.WriteFile(o.results, b, 0o644)
	}
	return nil
}
