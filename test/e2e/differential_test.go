package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

type diffQuery struct {
	expr    string
	ordered bool // PromQL defines the order of the result
}

// queries reads the hand-picked queries of testdata/differential.promql: the shapes SREs use —
// selectors, counters with resets, aggregation by the external labels, histograms, topk, absent,
// subqueries, offset, @, label_replace and joins.
func queries(at int64) []diffQuery {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(bed.DefaultBinDir()), "testdata", "differential.promql"))
	if err != nil {
		panic(err)
	}
	var out []diffQuery
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q := diffQuery{}
		if e, ok := strings.CutSuffix(line, "# ordered"); ok {
			line, q.ordered = strings.TrimSpace(e), true
		}
		q.expr = strings.ReplaceAll(line, "@MID@", strconv.FormatInt(at/1000, 10))
		out = append(out, q)
	}
	if len(out) < 15 {
		panic(fmt.Sprintf("testdata/differential.promql has %d queries; the comparison needs at least 15", len(out)))
	}
	return out
}

// connected holds one connection set per path: discovery + tunnels, and --endpoint.
type connected struct {
	name   string
	stores []*fanout.Store
	close  func()
	args   []string // flags this path adds to every query
}

func connectPaths(t *testing.T) []connected {
	t.Helper()
	var out []connected
	set, _ := connectStores(t, withKubeconfig(theBed.Kubeconfig))
	if len(set.Stores) != len(theBed.Stores) {
		t.Fatalf("kube discovery found %d stores, the bed has %d", len(set.Stores), len(theBed.Stores))
	}
	// Batched frames through the tunnels (the default), single-series frames from the endpoints:
	// both decoding paths meet the real sidecar.
	out = append(out, connected{"kube", set.FanoutStores(), set.Close, nil})

	eset, _ := connectStores(t, withEndpoints(sidecarAddrs()...))
	out = append(out, connected{"endpoint", eset.FanoutStores(), eset.Close, []string{"--series-batch-size=0"}})
	return out
}

func TestDifferentialAgainstQuerier(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	// Instant times: early, in the middle (inside the replicas' gaps), and near the end.
	times := []int64{hs + 40*60_000, theBed.At(1.0 / 3), theBed.At(0.5), he - 5*60_000}
	rangeStart, rangeEnd, step := hs+30*60_000, he, int64(60_000)

	failures := 0
	for _, q := range queries(theBed.At(0.5)) {
		for _, dedup := range []bool{true, false} {
			for _, ts := range times {
				want := oracle(t, "/api/v1/query", url.Values{"query": {q.expr}, "time": {secs(ts)}, "dedup": {strconv.FormatBool(dedup)}})
				for _, p := range paths {
					got := runOurs(t, p.stores, append([]string{q.expr, "-o", "json", "--time", secs(ts), fmt.Sprintf("--dedup=%t", dedup)}, p.args...))
					if d := diffOrErr(t, got, want, q.ordered); d != "" {
						failures++
						t.Errorf("instant %s at %s, dedup=%t, via %s:\n  %s", q.expr, secs(ts), dedup, p.name, d)
					}
				}
			}
			want := oracle(t, "/api/v1/query_range", url.Values{"query": {q.expr}, "start": {secs(rangeStart)}, "end": {secs(rangeEnd)},
				"step": {"60"}, "dedup": {strconv.FormatBool(dedup)}})
			for _, p := range paths {
				got := runOurs(t, p.stores, append([]string{q.expr, "-o", "json", "--start", secs(rangeStart), "--end", secs(rangeEnd),
					"--step", strconv.FormatInt(step/1000, 10), fmt.Sprintf("--dedup=%t", dedup), unsplit}, p.args...))
				if d := diffOrErr(t, got, want, false); d != "" {
					failures++
					t.Errorf("range %s, dedup=%t, via %s:\n  %s", q.expr, dedup, p.name, d)
				}
			}
		}
		if failures > 20 {
			t.Fatal("too many differences; stopping")
		}
	}
}

// Dedup must make a difference on this bed (europe has two replicas), or the comparison above
// would prove nothing about it.
func TestDedupChangesTheAnswer(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	ts := strconv.FormatInt((theBed.HistoryEnd-10*60_000)/1000, 10)
	on := runOurs(t, paths[0].stores, []string{`count(up{job="api"})`, "-o", "json", "--time", ts})
	off := runOurs(t, paths[0].stores, []string{`count(up{job="api"})`, "-o", "json", "--time", ts, "--dedup=false"})
	if string(on.Data.Result) == string(off.Data.Result) {
		t.Fatalf("dedup on and off agree: %s", on.Data.Result)
	}
	if !strings.Contains(string(off.Data.Result), `"`) {
		t.Fatalf("unexpected result %s", off.Data.Result)
	}
}

func closePaths(paths []connected) {
	for _, p := range paths {
		p.close()
	}
}

// secs renders milliseconds as the API's seconds with a fraction.
func secs(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }
