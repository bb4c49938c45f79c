package bed

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type omSample struct {
	series string
	v      float64
	t      int64 // ms
}

func parseOM(t *testing.T, b []byte) map[string][]omSample {
	t.Helper()
	out := map[string][]omSample{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad line %q", line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		ts, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("bad timestamp in %q", line)
		}
		out[f[0]] = append(out[f[0]], omSample{f[0], v, int64(ts*1000 + 0.5)})
	}
	return out
}

func genOM(t *testing.T, s site, replicas, idx int, start, end int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeOpenMetrics(&buf, s, plansFor(replicas)[idx], start, end); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHistoryShape(t *testing.T) {
	end := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	start := end - 6*time.Hour.Milliseconds()
	r0 := genOM(t, siteEU, 2, 0, start, end)
	r1 := genOM(t, siteEU, 2, 1, start, end)
	if !bytes.HasSuffix(r0, []byte("# EOF\n")) {
		t.Fatal("no # EOF at the end")
	}
	if again := genOM(t, siteEU, 2, 0, start, end); !bytes.Equal(r0, again) {
		t.Fatal("history is not deterministic")
	}
	s0, s1 := parseOM(t, r0), parseOM(t, r1)

	const ctr = `http_requests_total{code="200",handler="/api/orders",instance="api-eu-1:8080",job="api",method="GET"}`
	for name, s := range map[string]map[string][]omSample{"replica 0": s0, "replica 1": s1} {
		samples := s[ctr]
		if len(samples) < 600 {
			t.Fatalf("%s: only %d samples of %s", name, len(samples), ctr)
		}
		resets := 0
		for i := 1; i < len(samples); i++ {
			if samples[i].t <= samples[i-1].t {
				t.Fatalf("%s: timestamps not increasing at %d", name, i)
			}
			if samples[i].v < samples[i-1].v {
				resets++
			}
		}
		if resets != 1 {
			t.Errorf("%s: %d counter resets, want 1", name, resets)
		}
		for _, smp := range samples {
			if smp.t < start || smp.t > end {
				t.Fatalf("%s: sample at %d outside [%d, %d]", name, smp.t, start, end)
			}
		}
	}

	// Replica 1 scrapes 7-13s after replica 0, and each has a gap of its own.
	up := `up{instance="node-eu-a:9100",job="node-exporter",namespace="monitoring"}`
	byTime := map[int64]bool{}
	for _, smp := range s0[up] {
		byTime[smp.t] = true
	}
	for _, smp := range s1[up] {
		d := (smp.t - start) % 30000
		if d < 7000 || d > 13000 {
			t.Fatalf("replica 1 scrape at +%dms in its interval", d)
		}
	}
	gaps := func(s []omSample) (n int, longest int64) {
		for i := 1; i < len(s); i++ {
			if d := s[i].t - s[i-1].t; d > 60000 {
				n++
				longest = max(longest, d)
			}
		}
		return
	}
	if n, l := gaps(s0[up]); n != 1 || l < 19*60000 || l > 21*60000 {
		t.Errorf("replica 0: %d gaps, longest %v; want one of ~20m", n, time.Duration(l)*time.Millisecond)
	}
	if n, l := gaps(s1[up]); n != 1 || l < 14*60000 || l > 16*60000 {
		t.Errorf("replica 1: %d gaps, longest %v; want one of ~15m", n, time.Duration(l)*time.Millisecond)
	}

	// A target is down (up == 0) for a while, visible to both replicas.
	apiUp := `up{instance="api-eu-1:8080",job="api",namespace="shop",pod="` + (history{s: siteEU}).apiPod(1) + `"}`
	for name, s := range map[string]map[string][]omSample{"replica 0": s0, "replica 1": s1} {
		zeros := 0
		for _, smp := range s[apiUp] {
			if smp.v == 0 {
				zeros++
			}
		}
		if zeros < 5 {
			t.Errorf("%s: %s is 0 in %d samples, want a down period", name, apiUp, zeros)
		}
	}

	// The same underlying counter: values close but not identical.
	last0, last1 := s0[ctr][len(s0[ctr])-1], s1[ctr][len(s1[ctr])-1]
	if last0.v == last1.v {
		t.Errorf("replicas agree exactly on %s; want skew", ctr)
	}
	if d := last0.v - last1.v; d > 1000 || d < -1000 {
		t.Errorf("replicas differ by %v on %s", d, ctr)
	}

	us := parseOM(t, genOM(t, siteUS, 1, 0, start, end))
	for k := range us {
		if strings.Contains(k, "-eu-") {
			t.Fatalf("united-states history holds a europe series: %s", k)
		}
	}
}

// TestHistoryPromtool checks that promtool accepts the history and makes
// blocks of it.
func TestHistoryPromtool(t *testing.T) {
	promtool := filepath.Join(DefaultBinDir(), "promtool")
	if _, err := os.Stat(promtool); err != nil {
		t.Skipf("needs %s (build it with hack/build-tool.sh promtool)", promtool)
	}
	dir := t.TempDir()
	end := time.Now().Add(-2 * time.Minute).Truncate(scrapeInterval).UnixMilli()
	start := end - 6*time.Hour.Milliseconds()
	om := filepath.Join(dir, "h.om")
	if err := os.WriteFile(om, genOM(t, siteEU, 2, 1, start, end), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	blocks, _ := filepath.Glob(filepath.Join(dir, "data", "*", "meta.json"))
	if len(blocks) < 3 {
		t.Fatalf("%d blocks from 6h of history, want at least 3\n%s", len(blocks), out)
	}
}
