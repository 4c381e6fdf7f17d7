//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestDocCommands keeps the shell commands in docs/ and the examples'
// READMEs tied to what runs them: a make target must exist (the Makefile is
// what CI runs), a `go test -run TestX` must name a test that exists, the
// oci command's flags must be the tool's, and the rate limit service's
// environment must be the one TestTokenBudget starts it with. A command no
// rule covers fails: give it a test first.
func TestDocCommands(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(env.root, "docs", "*.md"))
	readmes, _ := filepath.Glob(filepath.Join(env.root, "examples", "*", "README.md"))
	files = append(files, readmes...)
	makefile := readFile(t, "Makefile")
	e2eTests := readGlob(t, "e2e/*_test.go")
	rules := []struct {
		pattern *regexp.Regexp
		check   func(m []string) bool
	}{
		{regexp.MustCompile(`^make ((?:[a-z-]+ ?)+)$`), func(m []string) bool {
			for _, target := range strings.Fields(m[1]) {
				if !regexp.MustCompile(`(?m)^` + target + `:`).Match(makefile) {
					return false
				}
			}
			return true
		}},
		{regexp.MustCompile(`^go test -tags e2e -run (Test\w+) \./e2e/$`), func(m []string) bool {
			return bytes.Contains(e2eTests, []byte("func "+m[1]+"(t *testing.T)"))
		}},
		{regexp.MustCompile(`^go run \./oci((?: -[a-z]+ \S+)*)$`), func(m []string) bool {
			src := readFile(t, "oci/main.go")
			for _, f := range regexp.MustCompile(`-([a-z]+) `).FindAllStringSubmatch(m[1]+" ", -1) {
				if !bytes.Contains(src, []byte(`fs.String("`+f[1]+`"`)) {
					return false
				}
			}
			return true
		}},
		{regexp.MustCompile(`^((?:[A-Z_]+=\S+ )+)dist/tools/service_cmd$`), func(m []string) bool {
			src := readFile(t, "e2e/tokenbudget_test.go")
			for _, kv := range strings.Fields(m[1]) {
				name, _, _ := strings.Cut(kv, "=")
				if !bytes.Contains(src, []byte(`"`+name+`=`)) {
					return false
				}
			}
			return true
		}},
	}
	n := 0
	for _, f := range files {
		rel, _ := filepath.Rel(env.root, f)
		for _, cmd := range shellCommands(t, f) {
			n++
			covered := false
			for _, r := range rules {
				if m := r.pattern.FindStringSubmatch(cmd); m != nil {
					if !r.check(m) {
						t.Errorf("%s: %q does not match what the tests run", rel, cmd)
					}
					covered = true
					break
				}
			}
			if !covered {
				t.Errorf("%s: no test exercises %q", rel, cmd)
			}
		}
	}
	if n == 0 {
		t.Fatal("no shell commands found in the docs")
	}
}

// shellCommands returns the commands of a Markdown file's ```sh blocks
// (path is absolute), with line continuations joined and comments removed.
func shellCommands(t *testing.T, path string) []string {
	t.Helper()
	var cmds []string
	in := false
	var cur strings.Builder
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if cont := strings.HasSuffix(line, "\\"); cont {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(line, "\\")) + " ")
			continue
		}
		cur.WriteString(line)
		if cmd := strings.Join(strings.Fields(cur.String()), " "); cmd != "" {
			cmds = append(cmds, cmd)
		}
		cur.Reset()
	}
	return cmds
}

// readFile reads a file by its path in the repository.
func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readGlob concatenates the files matching a pattern in the repository.
func readGlob(t *testing.T, pattern string) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(env.root, pattern))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestDocLinks checks that every relative link in the README, docs/ and the
// examples' READMEs points to a file that exists and, with an anchor, to a
// heading in it (GitHub's heading ids).
func TestDocLinks(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(env.root, "docs", "*.md"))
	readmes, _ := filepath.Glob(filepath.Join(env.root, "examples", "*", "README.md"))
	files = append(append(files, readmes...), filepath.Join(env.root, "README.md"))
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	n := 0
	for _, f := range files {
		rel, _ := filepath.Rel(env.root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRE.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			n++
			path, anchor, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), path)
			}
			content, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("%s: link %s: %v", rel, target, err)
				continue
			}
			if anchor != "" && !slices.Contains(headingIDs(content), anchor) {
				t.Errorf("%s: link %s: no heading with id %q in %s", rel, target, anchor, path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no relative links found")
	}
}

// headingIDs are the ids GitHub gives a Markdown file's headings: lower
// case, spaces to dashes, punctuation other than dashes and underscores
// dropped.
func headingIDs(md []byte) []string {
	var ids []string
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		ids = append(ids, b.String())
	}
	return ids
}
