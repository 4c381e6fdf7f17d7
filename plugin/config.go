package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenmeter/tokenmeter/parsers"
)

// Config is the behaviour for one call. The top level of the plugin
// configuration gives the defaults; a matching routes entry overrides the
// fields it names.
type Config struct {
	// Enabled switches metering on or off.
	Enabled bool
	// API forces a wire format instead of detecting it from the path.
	API parsers.API
	// RejectEmbeddedErrors turns an error found in the prefetch of a 200
	// response into a local error reply (embedded_error_action "reject").
	RejectEmbeddedErrors bool
	// PrefetchMaxEvents, PrefetchMaxBytes and PrefetchTimeoutMS bound how
	// long response headers are held while looking for the first
	// meaningful event.
	PrefetchMaxEvents int
	PrefetchMaxBytes  int
	PrefetchTimeoutMS int
	// MaxBodyBytes bounds a non-stream body held to its end (and the
	// inspection copy of error and compressed bodies).
	MaxBodyBytes int
	// MaxRequestBytes bounds the request body copy read for model and stream.
	MaxRequestBytes int
	// MaxEventBytes bounds one streamed event.
	MaxEventBytes int
	// ParseEveryEvent parses every streamed message. By default only the
	// head of a stream (through its first meaningful message) and its end
	// (see TailBytes) are parsed: providers report usage cumulatively at
	// the end, and the messages between cost a copy instead of a parse.
	ParseEveryEvent bool
	// TailBytes is how much of a stream's end is kept for parsing when it
	// ends, besides its last message, which is always kept whole.
	TailBytes int
	// MaxModels bounds the model label of metrics; later models count as "other".
	MaxModels int
	// LogJSON writes one JSON log line per metered call.
	LogJSON bool
	// Guard makes this instance only turn embedded errors into error
	// statuses, reporting nothing (role "guard"): for a second instance in
	// the upstream filters, so the retry it enables is not metered twice.
	Guard bool
	// InjectStreamUsage asks OpenAI Chat streams for usage on the client's
	// behalf and removes the extra usage chunk from the client's stream.
	InjectStreamUsage bool
}

// route is one entry of the routes list: a matcher and its merged Config.
type route struct {
	name       string
	pathPrefix string
	cfg        Config
}

// pluginConfig is the parsed plugin configuration.
type pluginConfig struct {
	base   Config
	routes []route
}

// defaultConfig is what an empty configuration means.
func defaultConfig() Config {
	return Config{
		Enabled:              true,
		RejectEmbeddedErrors: true,
		PrefetchMaxEvents:    5,
		PrefetchMaxBytes:     64 << 10,
		PrefetchTimeoutMS:    1000,
		MaxBodyBytes:         4 << 20,
		MaxRequestBytes:      1 << 20,
		MaxEventBytes:        1 << 20,
		TailBytes:            2 << 10,
		MaxModels:            50,
		LogJSON:              true,
	}
}

// forRequest picks the Config for a call: the first routes entry whose name
// equals Envoy's route name or whose path prefix starts the path, else the
// top-level Config. routeName is asked for only when an entry names a
// route: reading it is a host call.
func (pc *pluginConfig) forRequest(routeName func() string, path string) *Config {
	name, named := "", false
	for i := range pc.routes {
		r := &pc.routes[i]
		if r.name != "" && !named {
			name, named = routeName(), true
		}
		if (r.name != "" && r.name == name) || (r.pathPrefix != "" && strings.HasPrefix(path, r.pathPrefix)) {
			return &r.cfg
		}
	}
	return &pc.base
}

// configError names the field at fault, so the one log line Envoy prints
// when the plugin refuses to start tells the user what to fix.
func configError(field, format string, args ...any) error {
	return fmt.Errorf("tokenmeter: invalid configuration: field %q: %s", field, fmt.Sprintf(format, args...))
}

// fieldSpec says how one configuration field is validated and applied.
type fieldSpec struct {
	set func(c *Config, field string, v gjson.Result) error
}

func intField(min, max int, dst func(*Config) *int) fieldSpec {
	return fieldSpec{set: func(c *Config, field string, v gjson.Result) error {
		if v.Type != gjson.Number || v.Num != float64(int64(v.Num)) {
			return configError(field, "want an integer, got %s", v.Raw)
		}
		if n := int(v.Int()); n < min || n > max {
			return configError(field, "%d is out of range [%d, %d]", n, min, max)
		} else {
			*dst(c) = n
		}
		return nil
	}}
}

func boolField(dst func(*Config) *bool) fieldSpec {
	return fieldSpec{set: func(c *Config, field string, v gjson.Result) error {
		if v.Type != gjson.True && v.Type != gjson.False {
			return configError(field, "want true or false, got %s", v.Raw)
		}
		*dst(c) = v.Bool()
		return nil
	}}
}

// enumField accepts one of the given strings and hands it to apply.
func enumField(values []string, apply func(c *Config, s string)) fieldSpec {
	return fieldSpec{set: func(c *Config, field string, v gjson.Result) error {
		if v.Type == gjson.String {
			for _, ok := range values {
				if v.Str == ok {
					apply(c, v.Str)
					return nil
				}
			}
		}
		return configError(field, "want one of %s, got %s", strings.Join(values, ", "), v.Raw)
	}}
}

const mib = 1 << 20

// apiNames lists every API a configuration may force, by stable name.
var apiNames = func() []string {
	var names []string
	for a := parsers.APIUnknown + 1; a.String() != parsers.APIUnknown.String(); a++ {
		names = append(names, a.String())
	}
	return names
}()

// fields lists every setting a top-level config or a routes entry may hold.
var fields = map[string]fieldSpec{
	"enabled": boolField(func(c *Config) *bool { return &c.Enabled }),
	"api": enumField(apiNames, func(c *Config, s string) {
		c.API, _ = parsers.ParseAPI(s)
	}),
	"embedded_error_action": enumField([]string{"reject", "record"}, func(c *Config, s string) {
		c.RejectEmbeddedErrors = s == "reject"
	}),
	"prefetch_max_events": intField(1, 1000, func(c *Config) *int { return &c.PrefetchMaxEvents }),
	"prefetch_max_bytes":  intField(0, 16*mib, func(c *Config) *int { return &c.PrefetchMaxBytes }),
	"prefetch_timeout_ms": intField(0, 60000, func(c *Config) *int { return &c.PrefetchTimeoutMS }),
	"max_body_bytes":      intField(0, 64*mib, func(c *Config) *int { return &c.MaxBodyBytes }),
	"max_request_bytes":   intField(0, 64*mib, func(c *Config) *int { return &c.MaxRequestBytes }),
	"max_event_bytes":     intField(1024, 64*mib, func(c *Config) *int { return &c.MaxEventBytes }),
	"parse_every_event":   boolField(func(c *Config) *bool { return &c.ParseEveryEvent }),
	"tail_bytes":          intField(1024, 16*mib, func(c *Config) *int { return &c.TailBytes }),
	"max_models":          intField(1, 10000, func(c *Config) *int { return &c.MaxModels }),
	"log": enumField([]string{"json", "off"}, func(c *Config, s string) {
		c.LogJSON = s == "json"
	}),
	"role": enumField([]string{"meter", "guard"}, func(c *Config, s string) {
		c.Guard = s == "guard"
	}),
	"inject_stream_usage": boolField(func(c *Config) *bool { return &c.InjectStreamUsage }),
}

// parseConfig turns the plugin configuration into a pluginConfig. Empty
// input means all defaults. Any unknown field, wrong type, out-of-range
// value or malformed JSON is an error naming the field.
func parseConfig(data []byte) (*pluginConfig, error) {
	pc := &pluginConfig{base: defaultConfig()}
	if len(strings.TrimSpace(string(data))) == 0 {
		return pc, nil
	}
	if !gjson.ValidBytes(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("tokenmeter: invalid configuration: not valid JSON at byte %d: %v", syntax.Offset, syntax)
		}
		return nil, errors.New("tokenmeter: invalid configuration: not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, errors.New("tokenmeter: invalid configuration: want a JSON object at the top level")
	}
	var routes gjson.Result
	err := forEachField(root, "", func(key string, v gjson.Result) error {
		if key == "routes" {
			routes = v
			return nil
		}
		return applyField(&pc.base, key, key, v)
	})
	if err != nil {
		return nil, err
	}
	if routes.Exists() {
		if !routes.IsArray() {
			return nil, configError("routes", "want a list, got %s", routes.Raw)
		}
		for i, entry := range routes.Array() {
			r, err := parseRoute(pc.base, i, entry)
			if err != nil {
				return nil, err
			}
			pc.routes = append(pc.routes, r)
		}
	}
	return pc, nil
}

// parseRoute reads one routes entry: a matcher plus overrides of the
// already parsed top level.
func parseRoute(base Config, i int, entry gjson.Result) (route, error) {
	prefix := fmt.Sprintf("routes[%d]", i)
	if !entry.IsObject() {
		return route{}, configError(prefix, "want an object, got %s", entry.Raw)
	}
	r := route{cfg: base}
	err := forEachField(entry, prefix+".", func(key string, v gjson.Result) error {
		name := prefix + "." + key
		switch key {
		case "name", "path_prefix":
			if v.Type != gjson.String || v.Str == "" {
				return configError(name, "want a non-empty string, got %s", v.Raw)
			}
			if key == "name" {
				r.name = v.Str
			} else {
				r.pathPrefix = v.Str
			}
			return nil
		case "routes":
			return configError(name, "routes cannot be nested")
		}
		return applyField(&r.cfg, key, name, v)
	})
	if err != nil {
		return route{}, err
	}
	if r.name == "" && r.pathPrefix == "" {
		return route{}, configError(prefix, "needs \"name\" or \"path_prefix\" to match on")
	}
	return r, nil
}

// forEachField visits an object's members in order and rejects duplicates,
// which JSON allows but which would make the effective value ambiguous.
func forEachField(obj gjson.Result, prefix string, visit func(key string, v gjson.Result) error) error {
	seen := map[string]bool{}
	var err error
	obj.ForEach(func(k, v gjson.Result) bool {
		if seen[k.Str] {
			err = configError(prefix+k.Str, "appears more than once")
			return false
		}
		seen[k.Str] = true
		err = visit(k.Str, v)
		return err == nil
	})
	return err
}

func applyField(c *Config, key, name string, v gjson.Result) error {
	spec, ok := fields[key]
	if !ok {
		return configError(name, "unknown field")
	}
	return spec.set(c, name, v)
}
