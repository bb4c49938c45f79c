package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
)

// startQuerier runs another real Thanos Querier over the bed's sidecars with extra flags.
func startQuerier(t *testing.T, args ...string) string {
	t.Helper()
	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", port())
	full := []string{"query", "--http-address", httpAddr, "--grpc-address", fmt.Sprintf("127.0.0.1:%d", port()),
		"--query.replica-label", "replica", "--query.replica-label", "prometheus_replica"}
	for _, s := range theBed.Stores {
		full = append(full, "--endpoint", s.SidecarGRPC)
	}
	c := exec.Command(filepath.Join(bed.DefaultBinDir(), "thanos"), append(full, args...)...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "querier.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	base := "http://" + httpAddr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := http.Get(base + "/api/v1/query?query=count(up)")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return base
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("querier %v not ready", args)
	return ""
}

// --dedup-func chain equals a Querier started with --deduplication.func=chain, and several
// replica labels at once equal the Querier's replicaLabels[] on the same request.
func TestDedupFuncsAndReplicaLabels(t *testing.T) {
	chainQuerier := startQuerier(t, "--deduplication.func=chain")
	paths := connectPaths(t)
	defer closePaths(paths)
	stores := paths[0].stores
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	mid := theBed.At(0.5)
	saved := theBed.QuerierHTTP
	defer func() { theBed.QuerierHTTP = saved }()

	for _, q := range queries(mid) {
		for _, ts := range []int64{theBed.At(1.0 / 3), mid} {
			theBed.QuerierHTTP = chainQuerier
			want := oracle(t, "/api/v1/query", url.Values{"query": {q.expr}, "time": {secs(ts)}})
			got := runOurs(t, stores, []string{q.expr, "-o", "json", "--time", secs(ts), "--dedup-func=chain"})
			if d := diffOrErr(t, got, want, q.ordered); d != "" {
				t.Errorf("chain: %s at %s: %s", q.expr, secs(ts), d)
			}
			// cluster as a second replica label folds europe and united-states together.
			theBed.QuerierHTTP = saved
			want = oracle(t, "/api/v1/query", url.Values{"query": {q.expr}, "time": {secs(ts)}, "replicaLabels[]": {"replica", "cluster"}})
			got = runOurs(t, stores, []string{q.expr, "-o", "json", "--time", secs(ts), "--replica-label=replica", "--replica-label=cluster"})
			if d := diffOrErr(t, got, want, q.ordered); d != "" {
				t.Errorf("replica labels replica+cluster: %s at %s: %s", q.expr, secs(ts), d)
			}
		}
		theBed.QuerierHTTP = chainQuerier
		params := url.Values{"query": {q.expr}, "start": {secs(hs + 30*60_000)}, "end": {secs(he)}, "step": {"120"}}
		want := oracle(t, "/api/v1/query_range", params)
		got := runOurs(t, stores, []string{q.expr, "-o", "json", "--start", secs(hs + 30*60_000), "--end", secs(he), "--step", strconv.Itoa(120), "--dedup-func=chain", unsplit})
		if d := diffOrErr(t, got, want, false); d != "" {
			t.Errorf("chain range: %s: %s", q.expr, d)
		}
	}
}
