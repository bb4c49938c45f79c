package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// engineQueries cover what dashboards and alerts ask of the bed's history: plain and regex
// selectors, rates, aggregations, histogram quantiles, top-k, subqueries and vector matching.
var engineQueries = []string{
	`up`,
	`http_requests_total{job="api",code=~"5.."}`,
	`{__name__=~"http_request_duration_seconds_(count|sum)"}`,
	`rate(http_requests_total[5m])`,
	`sum by (cluster, handler) (rate(http_requests_total[5m]))`,
	`sum by (code) (increase(http_requests_total[1h]))`,
	`histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))`,
	`histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))`,
	`sum by (handler) (rate(http_request_duration_seconds_sum[5m])) / sum by (handler) (rate(http_request_duration_seconds_count[5m]))`,
	`topk(5, sum by (instance) (rate(http_requests_total[5m])))`,
	`bottomk(3, node_memory_Active_bytes)`,
	`max_over_time(worker_queue_depth[30m:1m])`,
	`avg_over_time(sum by (cluster) (rate(jobs_processed_total[5m]))[1h:5m])`,
	`process_resident_memory_bytes * on (cluster, pod) group_left (node) kube_pod_info`,
	`node_memory_Active_bytes * on (cluster, instance) group_left (nodename) node_uname_info`,
	`sum by (cluster) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (cluster) (rate(http_requests_total[5m]))`,
	`count by (job) (up)`,
	`deriv(process_resident_memory_bytes[15m])`,
	`quantile_over_time(0.9, worker_queue_depth[30m])`,
	`label_replace(sum by (instance) (rate(http_requests_total[5m])), "host", "$1", "instance", "([^:]+):.*")`,
}

type variant string

const (
	oursProcess   variant = "ours, a process per query"
	oursInProcess variant = "ours, in-process (connections reused)"
	oursServe     variant = "ours, serve's HTTP API (a server, as the Querier is)"
	reference     variant = "Thanos Querier HTTP API"
)

// engineResult holds every sample of one query kind (instant or range).
type engineResult struct {
	kind       string
	queries    []promQuery
	times      map[variant][][]time.Duration // [query][rep]
	mismatches []string
}

func timeArgs(pq promQuery) []string {
	if pq.isRange() {
		return []string{"--start", pq.Start.UTC().Format(time.RFC3339Nano), "--end", pq.End.UTC().Format(time.RFC3339Nano),
			"--step", pq.Step.String()}
	}
	return []string{"--time", pq.Time.UTC().Format(time.RFC3339Nano)}
}

func endpointArgs(eps []string) []string {
	var out []string
	for _, e := range eps {
		out = append(out, "--endpoint", e)
	}
	return out
}

// runOursProcess runs the plugin binary as a user would, printing JSON.
func runOursProcess(ctx context.Context, plugin string, endpoints []string, pq promQuery) ([]byte, time.Duration, int64, error) {
	return runTimed(ctx, plugin, oursArgs(endpoints, pq)...)
}

func oursArgs(endpoints []string, pq promQuery) []string {
	args := append([]string{pq.Expr, "-o", "json"}, endpointArgs(endpoints)...)
	return append(args, timeArgs(pq)...)
}

// runOursInProcess goes through the command's own options, validation and output, over stores
// that are already connected.
func runOursInProcess(ctx context.Context, stores []*fanout.Store, pq promQuery) ([]byte, time.Duration, error) {
	var out bytes.Buffer
	start := time.Now()
	o := cmd.NewQueryOptions(genericiooptions.IOStreams{In: bytes.NewReader(nil), Out: &out, ErrOut: io.Discard})
	fs := cmd.QueryFlagSet(o)
	if err := fs.Parse(append([]string{"-o", "json"}, timeArgs(pq)...)); err != nil {
		return nil, 0, err
	}
	if err := o.Complete([]string{pq.Expr}); err != nil {
		return nil, 0, err
	}
	if err := o.Validate(); err != nil {
		return nil, 0, err
	}
	if err := o.Execute(ctx, stores, nil); err != nil {
		return nil, 0, err
	}
	return out.Bytes(), time.Since(start), nil
}

// connectDirect connects to StoreAPI endpoints once, for the in-process runs, as the command
// does with --endpoint.
func connectDirect(ctx context.Context, endpoints []string) (*stores.Set, error) {
	set, _, err := stores.Open(ctx, stores.Config{Endpoints: endpoints})
	return set, err
}

// benchEngine runs every query reps times on each side, rotating which side goes first so that
// neither gains from the other warming caches.
func benchEngine(ctx context.Context, plugin string, q, serve *querier, endpoints []string, queries []promQuery, kind string, reps int,
	stores []*fanout.Store) (*engineResult, error) {
	res := &engineResult{kind: kind, queries: queries, times: map[variant][][]time.Duration{}}
	for _, v := range []variant{oursProcess, oursInProcess, oursServe, reference} {
		res.times[v] = make([][]time.Duration, len(queries))
	}
	order := []variant{oursProcess, reference, oursInProcess, oursServe}
	for r := range reps {
		for i, pq := range queries {
			var sizes = map[variant]int{}
			for k := range order {
				v := order[(r+i+k)%len(order)]
				var (
					body []byte
					d    time.Duration
					err  error
				)
				switch v {
				case oursProcess:
					body, d, _, err = runOursProcess(ctx, plugin, endpoints, pq)
				case oursInProcess:
					body, d, err = runOursInProcess(ctx, stores, pq)
				case oursServe:
					body, d, err = serve.run(ctx, pq)
				case reference:
					body, d, err = q.run(ctx, pq)
				}
				if err != nil {
					return nil, fmt.Errorf("%s query %q (%s): %w", kind, pq.Expr, v, err)
				}
				res.times[v][i] = append(res.times[v][i], d)
				if r == 0 {
					n, err := resultSize(body)
					if err != nil {
						return nil, fmt.Errorf("%s query %q (%s): %w", kind, pq.Expr, v, err)
					}
					sizes[v] = n
				}
			}
			if r == 0 && (sizes[oursProcess] != sizes[reference] || sizes[oursInProcess] != sizes[reference] || sizes[oursServe] != sizes[reference]) {
				res.mismatches = append(res.mismatches, fmt.Sprintf("%s %q: ours %d series, Querier %d", kind, pq.Expr, sizes[oursProcess], sizes[reference]))
			}
		}
	}
	return res, nil
}
