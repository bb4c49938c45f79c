package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

type diffQuery struct {
	expr    string
	ordered bool // PromQL defines the order of the result
}

// queries cover the shapes SREs use: selectors, counters with resets, aggregation by the
// external labels, histograms, topk, absent, subqueries, offset, @, label_replace and joins.
func queries(at int64) []diffQuery {
	atSec := strconv.FormatInt(at/1000, 10)
	return []diffQuery{
		{expr: `up`},
		{expr: `http_requests_total{handler="/api/orders"}`},
		{expr: `rate(http_requests_total[5m])`},
		{expr: `increase(http_requests_total[1h])`},
		{expr: `irate(http_requests_total{code="200"}[5m])`},
		{expr: `resets(http_requests_total[2h])`},
		{expr: `sum by (cluster) (rate(http_requests_total[5m]))`},
		{expr: `count by (cluster, job) (up)`},
		{expr: `histogram_quantile(0.9, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m])))`},
		{expr: `topk(3, sum by (cluster, instance) (rate(http_requests_total[5m])))`, ordered: true},
		{expr: `sort_desc(sum by (handler) (rate(http_requests_total[10m])))`, ordered: true},
		{expr: `absent(nonexistent_metric{job="x"})`},
		{expr: `absent(up{job="api"})`},
		{expr: `max_over_time(rate(http_requests_total{code="200"}[5m])[30m:1m])`},
		{expr: `http_requests_total{code="500"} offset 1h`},
		{expr: `sum by (cluster) (http_requests_total @ ` + atSec + `)`},
		{expr: `label_replace(up{job="api"}, "region", "$1", "cluster", "([^/]+)/.*")`},
		{expr: `process_resident_memory_bytes * on (pod, namespace) group_left (node) kube_pod_info`},
		{expr: `avg_over_time(node_memory_Active_bytes[10m]) > bool 1e9`},
		{expr: `sum(rate(http_requests_total[5m])) by (code) / ignoring (code) group_left sum(rate(http_requests_total[5m]))`},
		{expr: `count_values("v", up)`},
		{expr: `scalar(sum(up{job="node-exporter"}))`},
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []connected

	kube := cmd.NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard())
	kube.Kube.KubeConfig = &theBed.Kubeconfig
	if err := kube.Validate(); err != nil {
		t.Fatal(err)
	}
	set, warns, err := kube.Connect(ctx)
	if err != nil {
		t.Fatalf("connect through kube: %v (warnings %v)", err, warns)
	}
	if len(set.Stores) != len(theBed.Stores) {
		t.Fatalf("kube discovery found %d stores, the bed has %d", len(set.Stores), len(theBed.Stores))
	}
	// Batched frames through the tunnels (the default), single-series frames from the endpoints:
	// both decoding paths meet the real sidecar.
	out = append(out, connected{"kube", set.FanoutStores(), set.Close, nil})

	ep := cmd.NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard())
	for _, s := range theBed.Stores {
		ep.Endpoints = append(ep.Endpoints, s.SidecarGRPC)
	}
	if err := ep.Validate(); err != nil {
		t.Fatal(err)
	}
	eset, _, err := ep.Connect(ctx)
	if err != nil {
		t.Fatalf("connect to endpoints: %v", err)
	}
	out = append(out, connected{"endpoint", eset.FanoutStores(), eset.Close, []string{"--series-batch-size=0"}})
	return out
}

// runOurs evaluates one query through the command's own code path, with -o json. An evaluation
// error comes back as an error response, as the API would give it.
func runOurs(t *testing.T, stores []*fanout.Store, args []string) *apiResponse {
	t.Helper()
	var stdout bytes.Buffer
	o := cmd.NewQueryOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &bytes.Buffer{}})
	fs := cmd.QueryFlagSet(o)
	if err := fs.Parse(args[1:]); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(args[:1]); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Execute(context.Background(), stores, nil); err != nil {
		return &apiResponse{Status: "error", Error: err.Error()}
	}
	return decode(t, stdout.Bytes())
}

func TestDifferentialAgainstQuerier(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	// Instant times: early, in the middle (inside the replicas' gaps), and near the end.
	times := []int64{hs + 40*60_000, hs + (he-hs)/3, hs + (he-hs)/2, he - 5*60_000}
	rangeStart, rangeEnd, step := hs+30*60_000, he, int64(60_000)

	failures := 0
	for _, q := range queries(hs + (he-hs)/2) {
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
					"--step", strconv.FormatInt(step/1000, 10), fmt.Sprintf("--dedup=%t", dedup)}, p.args...))
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
