package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// A cluster where europe's Prometheus pods run without a sidecar: discovery finds them as plain,
// reads them through remote read on 9090, and merges them with united-states's sidecar into the
// same answers the Querier gives over the sidecars, which read the same TSDBs.
func TestRemoteReadMixedCluster(t *testing.T) {
	b := secondBed(t, "bed with plain europe", bed.Config{PlainRegions: []string{"europe"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kinds := map[string]discovery.Kind{}
	for _, s := range b.Stores {
		kinds[s.Namespace+"/"+s.Pod] = discovery.Sidecar
		if s.Plain {
			kinds[s.Namespace+"/"+s.Pod] = discovery.Plain
		}
	}

	t.Run("discovery", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		kc, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := discovery.Discover(ctx, kc, discovery.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Targets) != len(b.Stores) {
			t.Fatalf("%d targets, the bed has %d pods", len(res.Targets), len(b.Stores))
		}
		for _, tg := range res.Targets {
			if want := kinds[tg.String()]; tg.Kind != want {
				t.Errorf("%s: kind %s, want %s", tg, tg.Kind, want)
			}
			if tg.Kind == discovery.Plain && tg.ReadPort() != 9090 {
				t.Errorf("%s: read on port %d, want the web port 9090", tg, tg.ReadPort())
			}
		}
	})

	t.Run("stores shows the kind", func(t *testing.T) {
		out, stderr, err := runCLI(t, "stores", "--kubeconfig="+b.Kubeconfig)
		if err != nil {
			t.Fatalf("stores: %v\n%s", err, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if f := strings.Fields(lines[0]); len(f) < 2 || f[1] != "KIND" {
			t.Fatalf("header %q", lines[0])
		}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if want := kinds[f[0]]; len(f) < 2 || discovery.Kind(f[1]) != want || !strings.Contains(l, " up ") {
				t.Errorf("row %q: want kind %s and up", l, want)
			}
		}
	})

	t.Run("differential", func(t *testing.T) {
		stores, closeFn := connectBed(t, b, false)
		defer closeFn()
		differential(t, stores, b)
	})
}

// --prefer-remote-read on the default bed reads every pod over 9090, past the running sidecars,
// and still gives the Querier's answers.
func TestPreferRemoteReadEqualsQuerier(t *testing.T) {
	stores, closeFn := connectBed(t, theBed, true)
	defer closeFn()
	differential(t, stores, theBed)

	// Series and label lookups go through Prometheus's HTTP API instead of remote read; they
	// must list what the sidecars list, external labels included.
	kc := "--kubeconfig=" + theBed.Kubeconfig
	span := []string{"--start", secs(theBed.HistoryStart), "--end", secs(theBed.HistoryEnd), "-o", "json"}
	for _, args := range [][]string{
		{"labels"}, {"labels", "--match", `up{job="api"}`}, {"label-values", "cluster"}, {"label-values", "job"},
		{"label-values", "cluster", "--match", `http_requests_total{code="500"}`}, {"label-values", "instance", "--match", `up{cluster=~"europe.*"}`},
		{"series", `up{job="api"}`}, {"series", `{__name__="up", cluster=~"united.*"}`},
	} {
		args = append(append(args, kc), span...)
		sidecar, stderr, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		plain, stderr, err := runCLI(t, append(args, "--prefer-remote-read")...)
		if err != nil {
			t.Fatalf("%v --prefer-remote-read: %v\n%s", args, err, stderr)
		}
		if sidecar, plain = sortedWarnings(t, sidecar), sortedWarnings(t, plain); sidecar != plain || len(sidecar) < 20 {
			t.Errorf("%v:\n  via sidecars:    %.300s\n  via remote read: %.300s", args, sidecar, plain)
		}
	}
}

// sortedWarnings puts the warnings of an API answer in order: stores answer in any order.
func sortedWarnings(t *testing.T, body string) string {
	var r map[string]any
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	if w, ok := r["warnings"].([]any); ok {
		slices.SortFunc(w, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// connectBed connects through kube to the bed b and checks every store's kind.
func connectBed(t *testing.T, b *bed.State, preferRemoteRead bool) ([]*fanout.Store, func()) {
	t.Helper()
	set, _ := connectStores(t, func(c *stores.Config) {
		withKubeconfig(b.Kubeconfig)(c)
		c.PreferRemoteRead = preferRemoteRead
	})
	if len(set.Stores) != len(b.Stores) {
		set.Close()
		t.Fatalf("%d stores, the bed has %d", len(set.Stores), len(b.Stores))
	}
	plain := map[string]bool{}
	for _, s := range b.Stores {
		plain[s.Namespace+"/"+s.Pod] = s.Plain || preferRemoteRead
	}
	for _, s := range set.Stores {
		if want := plain[s.Store.Name]; (s.Kind == discovery.Plain) != want {
			t.Errorf("store %s: kind %s, plain %t expected", s.Store.Name, s.Kind, want)
		}
		if s.Kind == discovery.Plain && !s.Store.Info.SupportsWithoutReplicaLabels {
			t.Errorf("store %s: plain store does not drop replica labels itself", s.Store.Name)
		}
	}
	return set.FanoutStores(), set.Close
}

// differential runs testdata/differential.promql, instant and range, with and without dedup, and
// compares each answer with the bed's Querier over the sidecars.
func differential(t *testing.T, stores []*fanout.Store, b *bed.State) {
	t.Helper()
	hs, he := b.HistoryStart, b.HistoryEnd
	times := []int64{hs + (he-hs)/4, hs + (he-hs)/2, he - 5*60_000}
	rangeStart, rangeEnd := hs+10*60_000, he
	ask := func(path string, params url.Values) *apiResponse {
		r, err := askOracleAt(b.QuerierHTTP, path, params)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	failures, compared := 0, 0
	for _, q := range queries(hs + (he-hs)/2) {
		for _, dedup := range []bool{true, false} {
			for _, ts := range times {
				want := ask("/api/v1/query", url.Values{"query": {q.expr}, "time": {secs(ts)}, "dedup": {strconv.FormatBool(dedup)}})
				got := runOurs(t, stores, []string{q.expr, "-o", "json", "--time", secs(ts), fmt.Sprintf("--dedup=%t", dedup)})
				compared++
				if d := diffOrErr(t, got, want, q.ordered); d != "" {
					failures++
					t.Errorf("instant %s at %s, dedup=%t:\n  %s", q.expr, secs(ts), dedup, d)
				}
			}
			want := ask("/api/v1/query_range", url.Values{"query": {q.expr}, "start": {secs(rangeStart)}, "end": {secs(rangeEnd)},
				"step": {"60"}, "dedup": {strconv.FormatBool(dedup)}})
			got := runOurs(t, stores, []string{q.expr, "-o", "json", "--start", secs(rangeStart), "--end", secs(rangeEnd),
				"--step", "60", fmt.Sprintf("--dedup=%t", dedup), unsplit})
			compared++
			if d := diffOrErr(t, got, want, false); d != "" {
				failures++
				t.Errorf("range %s, dedup=%t:\n  %s", q.expr, dedup, d)
			}
		}
		if failures > 20 {
			t.Fatal("too many differences; stopping")
		}
	}
	t.Logf("%d answers compared with the Querier", compared)
}
