package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// goBenchCommand runs the native package benchmarks of sseparse (framers
// and the newline-scan baseline) and parsers.
var goBenchCommand = []string{"go", "test", "-run=^$", "-bench=.", "-benchmem", "-count=1", "./sseparse", "./parsers"}

// goBenchResult is one line of go test -bench output.
type goBenchResult struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	MBPerS      float64 `json:"mb_per_s"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}

func runGoBench() ([]goBenchResult, error) {
	cmd := exec.Command(goBenchCommand[0], goBenchCommand[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(goBenchCommand, " "), err, out)
	}
	return parseGoBench(out), nil
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
			r.Name = r.Name[:i] // the GOMAXPROCS suffix
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
