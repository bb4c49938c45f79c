package e2e

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

func needThanosServices(t *testing.T) {
	t.Helper()
	if len(theBed.StoreGatewayPods) == 0 || len(theBed.QuerierPods) == 0 {
		t.Skip("this bed predates the Thanos services in kube; start a new one")
	}
}

// storeRows runs `stores` and returns its rows, split into fields, by store name.
func storeRows(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	out, stderr, err := runCLI(t, append([]string{"stores", "--kubeconfig=" + theBed.Kubeconfig}, args...)...)
	if err != nil {
		t.Fatalf("stores %v: %v\n%s", args, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Fields(lines[0]); len(h) < 3 || h[1] != "KIND" || h[2] != "COMPONENT" {
		t.Fatalf("stores header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	return rows
}

// connectSelected connects through kube as the command does with the given store flags.
func connectSelected(t *testing.T, selector string, preferQuerier bool) *stores.Set {
	t.Helper()
	set, _ := connectStores(t, func(c *stores.Config) {
		withKubeconfig(theBed.Kubeconfig)(c)
		c.StoreSelector, c.PreferQuerier = selector, preferQuerier
	})
	return set
}

// The Store Gateway found through kube adds the bucket's history, which no Prometheus has, and
// the answers are those of the Querier over the sidecars and the same Store Gateway.
func TestStoreSelectorAddsTheStoreGateway(t *testing.T) {
	needThanosServices(t)
	selector := "app.kubernetes.io/name=" + bed.StoreGatewayService
	rows := storeRows(t, "--store-selector", selector)
	gw := bed.ThanosNamespace + "/" + theBed.StoreGatewayPods[0]
	if len(rows) != len(theBed.Stores)+1 {
		t.Errorf("stores: %d rows, want the %d sidecars and the store gateway: %v", len(rows), len(theBed.Stores), rows)
	}
	for _, s := range theBed.Stores {
		if f := rows[s.Namespace+"/"+s.Pod]; len(f) < 3 || f[1] != string(discovery.Sidecar) || f[2] != "sidecar" {
			t.Errorf("sidecar %s/%s: row %v", s.Namespace, s.Pod, f)
		}
	}
	if f := rows[gw]; len(f) < 3 || f[1] != string(discovery.StoreAPI) || f[2] != "store" || !strings.Contains(strings.Join(f, " "), " up ") {
		t.Errorf("store gateway %s: row %v", gw, f)
	}

	bucketOnly := theBed.BucketStart + (theBed.HistoryStart-theBed.BucketStart)/2
	probe := []string{`count(up)`, "-o", "json", "--time", secs(bucketOnly)}
	without := connectSelected(t, "", false)
	got := runOurs(t, without.FanoutStores(), probe)
	without.Close()
	if got.Status != "success" || strings.Contains(string(got.Data.Result), `"value"`) {
		t.Fatalf("without --store-selector, the bucket-only time %s should have no data: %+v", secs(bucketOnly), got)
	}
	set := connectSelected(t, selector, false)
	defer set.Close()
	stores := set.FanoutStores()
	if got := runOurs(t, stores, probe); !strings.Contains(string(got.Data.Result), `"value"`) {
		t.Fatalf("with the store gateway, the bucket-only time %s has no data: %+v", secs(bucketOnly), got)
	}

	// From the bucket's start into the first hour that sidecars and bucket both hold.
	times := []int64{theBed.BucketStart + 30*60_000, bucketOnly, theBed.HistoryStart + 20*60_000}
	rangeStart, rangeEnd := theBed.BucketStart, theBed.HistoryStart+60*60_000
	exprs := []string{`up`, `rate(http_requests_total[5m])`, `sum by (cluster) (rate(http_requests_total[5m]))`,
		`increase(http_requests_total[1h])`, `count by (cluster, job) (up)`}
	ask := func(path string, params url.Values) *apiResponse {
		r, err := askOracleAt(theBed.QuerierAllHTTP, path, params)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, q := range exprs {
		for _, dedup := range []bool{true, false} {
			d := fmt.Sprintf("--dedup=%t", dedup)
			for _, ts := range times {
				want := ask("/api/v1/query", url.Values{"query": {q}, "time": {secs(ts)}, "dedup": {strconv.FormatBool(dedup)}})
				if diff := diffOrErr(t, runOurs(t, stores, []string{q, "-o", "json", "--time", secs(ts), d}), want, false); diff != "" {
					t.Errorf("instant %s at %s, %s:\n  %s", q, secs(ts), d, diff)
				}
			}
			want := ask("/api/v1/query_range", url.Values{"query": {q}, "start": {secs(rangeStart)}, "end": {secs(rangeEnd)},
				"step": {"60"}, "dedup": {strconv.FormatBool(dedup)}})
			got := runOurs(t, stores, []string{q, "-o", "json", "--start", secs(rangeStart), "--end", secs(rangeEnd), "--step", "60", d, unsplit})
			if diff := diffOrErr(t, got, want, false); diff != "" {
				t.Errorf("range %s, %s:\n  %s", q, d, diff)
			}
		}
	}
}

// With --prefer-querier, the cluster's Querier is its only store: no tunnel to any Prometheus
// pod or to the Store Gateway, and the answers are the Querier's own.
func TestPreferQuerierReadsOneQuerier(t *testing.T) {
	needThanosServices(t)
	selector := "app.kubernetes.io/part-of=" + bed.ThanosPartOf
	want := bed.ThanosNamespace + "/" + theBed.QuerierPods[0]

	rows := storeRows(t, "--store-selector", selector, "--prefer-querier")
	if f := rows[want]; len(rows) != 1 || len(f) < 3 || f[1] != string(discovery.StoreAPI) || f[2] != "query" {
		t.Fatalf("stores with --prefer-querier: want only %s, a query component; got %v", want, rows)
	}
	// Without --prefer-querier the same selector reads every store, both Querier replicas among
	// them: the test above would otherwise prove nothing.
	if all := storeRows(t, "--store-selector", selector); len(all) != len(theBed.Stores)+1+len(theBed.QuerierPods) {
		t.Fatalf("stores with --store-selector alone: %d rows, want %d: %v", len(all), len(theBed.Stores)+1+len(theBed.QuerierPods), all)
	}

	set := connectSelected(t, selector, true)
	defer set.Close()
	if len(set.Stores) != 1 || len(set.Failures) != 0 || set.Stores[0].Store.Name != want {
		t.Fatalf("connected %d stores and %d failures, want only %s: %+v", len(set.Stores), len(set.Failures), want, set.Stores)
	}
	q := set.Stores[0].Store
	before := q.Stats.SeriesCalls.Load()
	differential(t, set.FanoutStores(), theBed)
	if q.Stats.SeriesCalls.Load() == before {
		t.Fatalf("the queries never reached the Querier %s", q.Name)
	}
}

func TestPreferQuerierNeedsStoreSelector(t *testing.T) {
	_, _, err := runCLI(t, "stores", "--kubeconfig="+theBed.Kubeconfig, "--prefer-querier")
	if err == nil || cmd.ExitCode(err) != 2 || !strings.Contains(err.Error(), "--prefer-querier") || !strings.Contains(err.Error(), "--store-selector") {
		t.Fatalf("--prefer-querier alone: want a usage error (exit 2) naming both flags, got %v", err)
	}
}
