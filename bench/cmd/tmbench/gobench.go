package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// goBenchCommand runs the native package benchmarks of sseparse (framers
// and the newline-scan baseline) and parsers.
var goBenchCommand = []string{"go", "test", "-run=^$", "-bench=.", "-benchmem", "-count=1", "./sseparse", "./parsers"}

// goBenchPackages are the packages goBenchCommand measures, which are
// measured again in V8 (bench/v8/gotest.mjs).
var goBenchPackages = []string{"sseparse", "parsers"}

// goBenchResult is one line of go test -bench output, with the same
// benchmark's time in V8.
type goBenchResult struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	MBPerS      float64 `json:"mb_per_s"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	V8NsPerOp   float64 `json:"v8_ns_per_op"`
}

func runGoBench() ([]goBenchResult, error) {
	out, err := command(goBenchCommand...)
	if err != nil {
		return nil, err
	}
	rs := parseGoBench(out)
	v8, err := runGoBenchV8()
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		for _, v := range v8 {
			if v.Package == r.Package && v.Name == r.Name {
				rs[i].V8NsPerOp = v.NsPerOp
			}
		}
	}
	return rs, nil
}

// runGoBenchV8 builds the benchmarked packages' tests for wasip1 and runs
// their benchmarks in V8.
func runGoBenchV8() ([]goBenchResult, error) {
	dir, err := os.MkdirTemp("", "tmbench-gotest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var rs []goBenchResult
	for _, pkg := range goBenchPackages {
		bin := filepath.Join(dir, pkg+".wasm")
		build := exec.Command("go", "test", "-c", "-o", bin, "./"+pkg)
		build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s's tests for wasip1: %w\n%s", pkg, err, out)
		}
		pkgDir, err := filepath.Abs(pkg)
		if err != nil {
			return nil, err
		}
		out, err := command("node", "--no-warnings", "bench/v8/gotest.mjs", bin, pkgDir, "-test.run=^$", "-test.bench=.", "-test.count=1")
		if err != nil {
			return nil, err
		}
		rs = append(rs, parseGoBench(out)...)
	}
	return rs, nil
}

// command runs a command and returns its standard output; its standard
// error goes to ours.
func command(args ...string) ([]byte, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// parseGoBench reads the benchmark lines of go test output, e.g.
//
//	pkg: github.com/tokenmeter/tokenmeter/sseparse
//	BenchmarkDecode/openai-2  12345  95000 ns/op  600.00 MB/s  0 B/op  0 allocs/op
func parseGoBench(out []byte) []goBenchResult {
	var rs []goBenchResult
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "pkg:" {
			pkg = f[1][strings.LastIndexByte(f[1], '/')+1:]
			continue
		}
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := goBenchResult{Package: pkg, Name: strings.TrimPrefix(f[0], "Benchmark")}
		if i := strings.LastIndexByte(r.Name, '-'); i > 0 {
			if _, err := strconv.Atoi(r.Name[i+1:]); err == nil {
				r.Name = r.Name[:i] // the GOMAXPROCS suffix, absent when it is 1 (in WebAssembly)
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "MB/s":
				r.MBPerS = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			}
		}
		rs = append(rs, r)
	}
	return rs
}
