package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHicardOpenMetrics(t *testing.T) {
	s := hcShape{Jobs: 2, InstancesPerJob: 3, Handlers: 4, Codes: 4, Minutes: 5, StepSeconds: 30}
	var b bytes.Buffer
	if err := writeHicardOM(&b, s, 1_700_000_000_000); err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	sc := bufio.NewScanner(&b)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		last = line
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, '}')
		series[line[:i+1]]++
	}
	if last != "# EOF" {
		t.Fatalf("last line %q, want # EOF", last)
	}
	if len(series) != s.series() {
		t.Fatalf("%d series, want %d", len(series), s.series())
	}
	for k, n := range series {
		if n != s.samples() {
			t.Fatalf("%s: %d samples, want %d", k, n, s.samples())
		}
	}
}

// TestHicardBlocks runs promtool on a small history when the tool binaries are built.
func TestHicardBlocks(t *testing.T) {
	bins := filepath.Join(repoRoot(), "bin")
	if _, err := os.Stat(filepath.Join(bins, "promtool")); err != nil {
		t.Skip("bin/promtool not built")
	}
	dir := t.TempDir()
	s := hcShape{Jobs: 2, InstancesPerJob: 3, Handlers: 4, Codes: 4, Minutes: 10, StepSeconds: 30}
	blocks, m, err := hicardBlocks(context.Background(), dir, bins, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if m.End-m.Start != 10*time.Minute.Milliseconds() {
		t.Fatalf("range %d..%d", m.Start, m.End)
	}
	out, err := exec.Command(filepath.Join(bins, "promtool"), "tsdb", "list", blocks).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "01") {
		t.Fatalf("no block listed:\n%s", out)
	}
	// A second call finds the blocks of the first.
	if _, _, err := hicardBlocks(context.Background(), dir, bins, s, t.Logf); err != nil {
		t.Fatal(err)
	}
}
