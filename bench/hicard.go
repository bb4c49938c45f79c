package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

var hicardQueries = []string{
	`count({__name__=~".+"})`,
	`sum by (job) (rate(bench_requests_total[5m]))`,
}

// hicardStores starts one Prometheus + sidecar per store over a private tree of links to the
// generated blocks, each with a cluster label of its own.
func hicardStores(ctx context.Context, ps *procs, bins, runDir, blocks string, n int) ([]*store, error) {
	var out []*store
	for i := range n {
		name := fmt.Sprintf("hc-%d", i)
		dir := filepath.Join(runDir, name)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := linkTree(blocks, filepath.Join(dir, "data")); err != nil {
			return nil, err
		}
		s, err := startStore(ctx, ps, bins, name, dir, map[string]string{"cluster": "bench-" + name})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

type hicardSample struct {
	wall     time.Duration
	peakKB   int64 // ours: ru_maxrss; Querier: VmHWM after the query
	idleKB   int64 // Querier only: VmRSS once it sees every store, before the query
	resultSz int
	first    string // the first sample's value
}

type hicardResult struct {
	queries      []promQuery
	ours, theirs [][]hicardSample // [query][rep]
	inProcess    [][]time.Duration
}

// benchHicard alternates ours as a process (its peak RSS from rusage, see runMeasured), ours in this process over
// connections opened once, and a Querier started afresh for every single query, so that its
// high-water mark belongs to that query alone.
func benchHicard(ctx context.Context, ps *procs, bins, plugin string, endpoints []string, stores []*fanout.Store, queries []promQuery, reps int) (*hicardResult, error) {
	res := &hicardResult{queries: queries, ours: make([][]hicardSample, len(queries)), theirs: make([][]hicardSample, len(queries)),
		inProcess: make([][]time.Duration, len(queries))}
	for r := range reps {
		for i, pq := range queries {
			for k := range 3 {
				switch (r + i + k) % 3 {
				case 0:
					body, d, rss, err := runMeasured(ctx, plugin, oursArgs(endpoints, pq)...)
					if err != nil {
						return nil, fmt.Errorf("high cardinality %q (ours): %w", pq.Expr, err)
					}
					n, err := resultSize(body)
					if err != nil {
						return nil, err
					}
					res.ours[i] = append(res.ours[i], hicardSample{wall: d, peakKB: rss, resultSz: n, first: firstValue(body)})
				case 1:
					s, err := querierOnce(ctx, ps, bins, endpoints, pq)
					if err != nil {
						return nil, fmt.Errorf("high cardinality %q (Querier): %w", pq.Expr, err)
					}
					res.theirs[i] = append(res.theirs[i], s)
				case 2:
					_, d, err := runOursInProcess(ctx, stores, pq)
					if err != nil {
						return nil, fmt.Errorf("high cardinality %q (in-process): %w", pq.Expr, err)
					}
					res.inProcess[i] = append(res.inProcess[i], d)
				}
			}
		}
	}
	return res, nil
}

func querierOnce(ctx context.Context, ps *procs, bins string, endpoints []string, pq promQuery) (hicardSample, error) {
	q, err := startQuerier(ctx, ps, bins, "querier-hicard", endpoints)
	if err != nil {
		return hicardSample{}, err
	}
	defer ps.stop(q.p, 10*time.Second)
	// Let start-up garbage settle so that the idle figure is the Querier at rest.
	time.Sleep(500 * time.Millisecond)
	idle, err := procStatusKB(q.p.PID, "VmRSS")
	if err != nil {
		return hicardSample{}, err
	}
	body, d, err := q.run(ctx, pq)
	if err != nil {
		return hicardSample{}, err
	}
	hwm, err := procStatusKB(q.p.PID, "VmHWM")
	if err != nil {
		return hicardSample{}, err
	}
	n, err := resultSize(body)
	if err != nil {
		return hicardSample{}, err
	}
	return hicardSample{wall: d, peakKB: hwm, idleKB: idle, resultSz: n, first: firstValue(body)}, nil
}

// hicardProfile runs each query once in this process, for the profiler.
func hicardProfile(ctx context.Context, stores []*fanout.Store, queries []promQuery) error {
	for _, pq := range queries {
		if _, _, err := runOursInProcess(ctx, stores, pq); err != nil {
			return fmt.Errorf("high cardinality %q (in-process): %w", pq.Expr, err)
		}
	}
	return nil
}
