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
	if err := writeOpenMetrics(&buf, s, plansFor(replicas)[idx], start, end, end-start); err != nil {
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

	var older bytes.Buffer
	if err := olderHistory(&older, siteEU, start, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(om, older.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, filepath.Join(dir, "older")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool on the older history: %v\n%s", err, out)
	}
}

// The worker families carry the ways HA replicas drift apart.
func TestHistoryReplicasDiffer(t *testing.T) {
	end := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	start := end - 6*time.Hour.Milliseconds()
	s0, s1 := parseOM(t, genOM(t, siteEU, 2, 0, start, end)), parseOM(t, genOM(t, siteEU, 2, 1, start, end))
	us := parseOM(t, genOM(t, siteUS, 1, 0, start, end))
	worker := func(name, queue, site string) string {
		return name + `{instance="worker-` + site + `-0:9000",job="worker",namespace="batch",queue="` + queue + `"}`
	}
	resets := func(s []omSample) (n int, at []int64) {
		for i := 1; i < len(s); i++ {
			if s[i].v < s[i-1].v {
				n++
				at = append(at, s[i].t)
			}
		}
		return
	}

	// A counter reset that only replica 1 sees, a quarter into the range.
	reports := worker("jobs_processed_total", "reports", "eu")
	if n, _ := resets(s0[reports]); n != 0 || len(s0[reports]) < 600 {
		t.Errorf("replica 0: %d resets in %d samples of %s, want none", n, len(s0[reports]), reports)
	}
	n, at := resets(s1[reports])
	if want := start + 6*time.Hour.Milliseconds()/4; n != 1 || at[0] < want || at[0] > want+30000 {
		t.Errorf("replica 1: resets of %s at %v, want one just after %d", reports, at, want)
	}
	for _, s := range []map[string][]omSample{s0, s1} {
		if n, _ := resets(s[worker("jobs_processed_total", "emails", "eu")]); n != 0 {
			t.Errorf("emails queue resets %d times", n)
		}
	}
	if n, _ := resets(us[worker("jobs_processed_total", "reports", "us")]); n != 0 {
		t.Errorf("united-states reports queue resets %d times", n)
	}

	// A label value only replica 0 has.
	prio := worker("jobs_processed_total", "priority", "eu")
	if len(s0[prio]) < 600 || len(s1[prio]) != 0 || len(us[worker("jobs_processed_total", "priority", "us")]) != 0 {
		t.Errorf("%s: %d samples on replica 0, %d on replica 1; want it on replica 0 only", prio, len(s0[prio]), len(s1[prio]))
	}

	// Replica 1 records the queue depth three hours after replica 0.
	depth := worker("worker_queue_depth", "emails", "eu")
	if first := s0[depth][0].t; first != start {
		t.Errorf("replica 0: %s starts at %d, want %d", depth, first, start)
	}
	if first := s1[depth][0].t; first < start+3*time.Hour.Milliseconds() || first > start+3*time.Hour.Milliseconds()+30000 {
		t.Errorf("replica 1: %s starts %v after the history, want 3h", depth, time.Duration(first-start)*time.Millisecond)
	}
	// ...which stays inside a short history.
	short := parseOM(t, genOM(t, siteEU, 2, 1, end-time.Hour.Milliseconds(), end))
	if first := short[depth][0].t; first < end-30*60000 || first > end-30*60000+30000 {
		t.Errorf("1h history: replica 1's %s starts at %d, want half way", depth, first)
	}
}

// Each europe replica is down for ten minutes or more, at another time than
// its twin, however short the history.
func TestHistoryGaps(t *testing.T) {
	end := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, hours := range []int64{1, 3, 6} {
		start := end - hours*time.Hour.Milliseconds()
		var gaps [2][2]int64
		for i := range 2 {
			up := parseOM(t, genOM(t, siteEU, 2, i, start, end))[`up{instance="node-eu-a:9100",job="node-exporter",namespace="monitoring"}`]
			for j := 1; j < len(up); j++ {
				if d := up[j].t - up[j-1].t; d > 60000 {
					if d < 10*60000 {
						t.Errorf("%dh, replica %d: gap of %v", hours, i, time.Duration(d)*time.Millisecond)
					}
					gaps[i] = [2]int64{up[j-1].t, up[j].t}
				}
			}
			if gaps[i][1] == 0 {
				t.Errorf("%dh, replica %d: no gap", hours, i)
			}
		}
		if gaps[0][1] > gaps[1][0] && gaps[1][1] > gaps[0][0] {
			t.Errorf("%dh: the replicas' gaps overlap: %v", hours, gaps)
		}
	}
}

func TestOlderHistory(t *testing.T) {
	end := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	start := end - 6*time.Hour.Milliseconds()
	var buf bytes.Buffer
	if err := olderHistory(&buf, siteEU, start, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	older := parseOM(t, buf.Bytes())
	recent := parseOM(t, genOM(t, siteEU, 2, 0, start, end))
	if len(older) == 0 {
		t.Fatal("empty")
	}
	for k, samples := range older {
		name := k[:strings.IndexByte(k, '{')]
		if name != "http_requests_total" && name != "up" {
			t.Errorf("older history holds %s", k)
		}
		if samples[0].t != start-2*time.Hour.Milliseconds() || samples[len(samples)-1].t != start-30000 || len(samples) != 240 {
			t.Errorf("%s: %d samples from %d to %d, want every 30s in [%d, %d)", k, len(samples), samples[0].t, samples[len(samples)-1].t, start-2*time.Hour.Milliseconds(), start)
		}
		for i, smp := range samples {
			if name == "up" && smp.v != 1 {
				t.Fatalf("%s is %v at %d", k, smp.v, smp.t)
			}
			if name == "http_requests_total" && (smp.v < 0 || i > 0 && smp.v < samples[i-1].v) {
				t.Fatalf("%s is %v at %d, after %v", k, smp.v, smp.t, samples[max(i-1, 0)].v)
			}
		}
		// The recent history carries on from there: no counter reset where
		// the bucket's older blocks meet the sidecar's.
		next := recent[k][0]
		if last := samples[len(samples)-1]; next.t != start || next.v < last.v || next.v > last.v+1000 { // at most 30s of requests
			t.Errorf("%s: older history ends with %v at %d, recent starts with %v at %d", k, last.v, last.t, next.v, next.t)
		}
	}
}
