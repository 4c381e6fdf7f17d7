//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tokenmeter/tokenmeter/e2e/envoyrun"
)

// TestEnvoyExamplesValidate loads every Envoy configuration under examples/
// (a YAML file with static_resources) in Envoy's validate mode, which also
// starts the plugin with its configuration. Placeholders get harmless
// values; a new placeholder must be given one here on purpose.
func TestEnvoyExamplesValidate(t *testing.T) {
	t.Parallel()
	files := exampleFiles(t)
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^static_resources:`).Match(data) {
			continue
		}
		n++
		rel, _ := filepath.Rel(env.root, f)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)\}`).FindAllSubmatch(data, -1) {
				name := string(m[1])
				v, ok := placeholderValue(t, name)
				if !ok {
					t.Fatalf("placeholder ${%s} has no validation value: add one to placeholderValue", name)
				}
				vars[name] = v
			}
			validateEnvoy(t, f, vars)
		})
	}
	if n < 4 {
		t.Fatalf("found %d Envoy configurations under examples/, want at least 4", n)
	}
}

// placeholderValue is what a template variable becomes for validation.
func placeholderValue(t *testing.T, name string) (string, bool) {
	switch {
	case name == "WASM":
		return env.wasm, true
	case name == "ACCESS_LOG":
		return filepath.Join(t.TempDir(), "access.log"), true
	case name == "TOKENMETER_CONFIG":
		return "{}", true
	case strings.HasSuffix(name, "_PORT"):
		return "0", true
	case strings.HasSuffix(name, "_HOST"):
		return "127.0.0.1", true
	}
	return "", false
}

// validateEnvoy renders a template and runs `envoy --mode validate` on it.
func validateEnvoy(t *testing.T, template string, vars map[string]string) {
	t.Helper()
	config, err := envoyrun.Render(template, vars)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(env.envoyPath, "--mode", "validate", "-c", path, "--log-level", "warn").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(" OK")) {
		t.Fatalf("Envoy refuses %s (%v):\n%s", template, err, out)
	}
}

// k8sKinds lists the Kubernetes kinds the examples may use and the fields
// each must set (dotted paths from the document root).
var k8sKinds = map[string][]string{
	"extensions.istio.io/v1alpha1 WasmPlugin":             {"spec.url", "spec.phase", "spec.pluginConfig"},
	"networking.istio.io/v1 ServiceEntry":                 {"spec.hosts", "spec.ports"},
	"networking.istio.io/v1 DestinationRule":              {"spec.host"},
	"networking.istio.io/v1 VirtualService":               {"spec.hosts", "spec.http"},
	"networking.istio.io/v1alpha3 EnvoyFilter":            {"spec.configPatches"},
	"gateway.envoyproxy.io/v1alpha1 EnvoyExtensionPolicy": {"spec.targetRefs", "spec.wasm"},
	"gateway.networking.k8s.io/v1 HTTPRoute":              {"spec.parentRefs", "spec.rules"},
}

// k8sFields lists, per kind and object path, the only keys the API allows
// there (from the Istio and Envoy Gateway API types), so a misplaced field
// fails the test instead of being dropped by the API server. "[]" steps
// into every element of a list.
var k8sFields = map[string]map[string][]string{
	"WasmPlugin": {
		"spec": {"selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret",
			"pluginConfig", "pluginName", "phase", "priority", "failStrategy", "vmConfig", "match", "type"},
		"spec.match.[]": {"mode", "ports"},
	},
	"EnvoyExtensionPolicy": {
		"spec":                    {"targetRef", "targetRefs", "targetSelectors", "wasm", "extProc", "lua", "dynamicModule"},
		"spec.wasm.[]":            {"name", "rootID", "code", "config", "failOpen"},
		"spec.wasm.[].code":       {"type", "http", "image", "sha256", "pullPolicy"},
		"spec.wasm.[].code.http":  {"url"},
		"spec.wasm.[].code.image": {"url", "pullSecretRef"},
	},
}

// enumFields lists, per kind and path, the values a field may take.
var enumFields = map[string]map[string][]string{
	"WasmPlugin": {
		"spec.phase":         {"UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"},
		"spec.failStrategy":  {"FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"},
		"spec.type":          {"UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"},
		"spec.match.[].mode": {"UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"},
	},
	"EnvoyExtensionPolicy": {
		"spec.wasm.[].code.type": {"HTTP", "Image"},
	},
}

// checkFields applies k8sFields and enumFields to one document.
func checkFields(t *testing.T, where string, doc map[string]any) {
	t.Helper()
	kind := text(doc["kind"])
	for path, allowed := range k8sFields[kind] {
		for _, v := range lookupAll(doc, path) {
			m, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s %s: %s is not an object", where, kind, path)
				continue
			}
			for k := range m {
				if !slices.Contains(allowed, k) {
					t.Errorf("%s %s: %s has no field %q (allowed: %v)", where, kind, path, k, allowed)
				}
			}
		}
	}
	for path, values := range enumFields[kind] {
		for _, v := range lookupAll(doc, path) {
			if !slices.Contains(values, text(v)) {
				t.Errorf("%s %s: %s is %q, want one of %v", where, kind, path, text(v), values)
			}
		}
	}
}

// lookupAll follows a dotted path like lookup, stepping into every list
// element at "[]", and returns the values found.
func lookupAll(v any, path string) []any {
	vals := []any{v}
	for _, key := range strings.Split(path, ".") {
		var next []any
		for _, cur := range vals {
			if key == "[]" {
				list, _ := cur.([]any)
				next = append(next, list...)
			} else if m, ok := cur.(map[string]any); ok && m[key] != nil {
				next = append(next, m[key])
			}
		}
		vals = next
	}
	return vals
}

// TestKubernetesExamples parses every Kubernetes YAML under examples/
// (files whose documents have apiVersion and kind), checks each document's
// kind, required fields and field names, checks that per-route plugin rules name routes
// that exist, and starts the plugin (Envoy validate mode) with every
// plugin configuration they carry, so a typo in a field fails here rather
// than in a cluster.
func TestKubernetesExamples(t *testing.T) {
	t.Parallel()
	configs := map[string][]string{} // plugin configuration JSON -> where
	docs := 0
	for _, f := range exampleFiles(t) {
		rel, _ := filepath.Rel(env.root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("\napiVersion:")) && !bytes.HasPrefix(data, []byte("apiVersion:")) {
			continue
		}
		var routeNames []string
		var ruleNames []string
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s document %d: %v", rel, i, err)
			}
			docs++
			kind := text(doc["apiVersion"]) + " " + text(doc["kind"])
			required, ok := k8sKinds[kind]
			if !ok {
				t.Errorf("%s document %d: unknown kind %q", rel, i, kind)
				continue
			}
			for _, path := range append([]string{"metadata.name", "metadata.namespace"}, required...) {
				if v := lookup(doc, path); v == nil || v == "" {
					t.Errorf("%s %s: %s is missing", rel, kind, path)
				}
			}
			checkFields(t, rel, doc)
			for _, c := range pluginConfigs(t, doc) {
				configs[c] = append(configs[c], rel)
				ruleNames = append(ruleNames, routeRuleNames(t, c)...)
			}
			if text(doc["kind"]) == "VirtualService" {
				http, _ := lookup(doc, "spec.http").([]any)
				for _, r := range http {
					routeNames = append(routeNames, text(lookup(r, "name")))
				}
			}
		}
		for _, name := range ruleNames {
			if !slices.Contains(routeNames, name) {
				t.Errorf("%s: the plugin's routes entry %q names no VirtualService http route (have %v)", rel, name, routeNames)
			}
		}
	}
	if docs < 8 || len(configs) == 0 {
		t.Fatalf("found %d Kubernetes documents and %d plugin configurations under examples/", docs, len(configs))
	}
	keys := make([]string, 0, len(configs))
	for c := range configs {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	for _, c := range keys {
		t.Run("plugin config from "+strings.Join(configs[c], ","), func(t *testing.T) {
			t.Parallel()
			validateEnvoy(t, filepath.Join(env.root, "examples", "envoy", "minimal.yaml"), map[string]string{
				"WASM": env.wasm, "TOKENMETER_CONFIG": c, "ACCESS_LOG": filepath.Join(t.TempDir(), "access.log"),
				"LISTENER_PORT": "0", "ADMIN_PORT": "0", "UPSTREAM_HOST": "127.0.0.1", "UPSTREAM_PORT": "0",
			})
		})
	}
}

// pluginConfigs returns the tokenmeter configurations a document carries,
// as JSON: a WasmPlugin's pluginConfig, an EnvoyExtensionPolicy's wasm
// config, or the configuration string of a wasm filter in an EnvoyFilter.
func pluginConfigs(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var out []string
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	switch text(doc["kind"]) {
	case "WasmPlugin":
		add(lookup(doc, "spec.pluginConfig"))
	case "EnvoyExtensionPolicy":
		wasms, _ := lookup(doc, "spec.wasm").([]any)
		for _, w := range wasms {
			if c := lookup(w, "config"); c != nil {
				add(c)
			}
		}
	case "EnvoyFilter":
		walk(doc, func(m map[string]any) {
			if strings.HasSuffix(text(m["@type"]), "filters.http.wasm.v3.Wasm") {
				out = append(out, text(lookup(m, "config.configuration.value")))
			}
		})
	}
	return out
}

// routeRuleNames are the route names a plugin configuration's routes list
// matches on.
func routeRuleNames(t *testing.T, config string) []string {
	t.Helper()
	var c struct {
		Routes []struct {
			Name string `json:"name"`
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		t.Fatalf("plugin configuration %s: %v", config, err)
	}
	var names []string
	for _, r := range c.Routes {
		if r.Name != "" {
			names = append(names, r.Name)
		}
	}
	return names
}

// lookup follows a dotted path through decoded YAML maps.
func lookup(v any, path string) any {
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// walk calls visit on every map inside v.
func walk(v any, visit func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		visit(v)
		for _, c := range v {
			walk(c, visit)
		}
	case []any:
		for _, c := range v {
			walk(c, visit)
		}
	}
}

// startExampleEnvoy starts an Envoy for this test from an example config
// outside examples/envoy (path relative to the repository), in front of the
// fake provider; vars add to the plugin and upstream defaults. The stack is
// the harness's, stopped when the test ends.
func startExampleEnvoy(t *testing.T, template string, vars map[string]string) *stack {
	t.Helper()
	upHost, upPort, _ := strings.Cut(env.fakeAddr, ":")
	all := map[string]string{"WASM": env.wasm, "UPSTREAM_HOST": upHost, "UPSTREAM_PORT": upPort}
	for k, v := range vars {
		all[k] = v
	}
	e, err := envoyrun.Start(t.Context(), envoyrun.Options{
		EnvoyPath: env.envoyPath,
		Template:  filepath.Join(env.root, template),
		Vars:      all,
		Dir:       t.TempDir(),
	})
	if e != nil {
		t.Cleanup(func() {
			if err := e.Stop(); err != nil || t.Failed() {
				t.Logf("Envoy (stop: %v) log:\n%s", err, e.Log())
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	addr, err := e.ListenerAddr(t.Context(), "llm")
	if err != nil {
		t.Fatal(err)
	}
	return &stack{envoy: e, addr: addr, log: newLogIndex(e.AccessLog)}
}

// exampleFiles lists every YAML file under examples/.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(env.root, "examples"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
