package frontend

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

func addInt64(p *int64, n int64) {
	if p != nil {
		atomic.AddInt64(p, n)
	}
}

// queryStats is what one query did, for the slow-query log.
type queryStats struct {
	parts, cachedParts int64
	retries            int64
	series             int64 // series the engine received, after merging and dedup
	samples            int64
}

// countingQueryable counts the series that one query's selections return. The stores' own
// counters are shared by every query in flight; this one belongs to the query.
type countingQueryable struct {
	q      storage.Queryable
	series *int64
}

func (c *countingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := c.q.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &countingQuerier{Querier: q, series: c.series}, nil
}

type countingQuerier struct {
	storage.Querier
	series *int64
}

func (c *countingQuerier) Select(ctx context.Context, sorted bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return &countingSet{SeriesSet: c.Querier.Select(ctx, sorted, hints, ms...), series: c.series}
}

type countingSet struct {
	storage.SeriesSet
	series *int64
}

func (c *countingSet) Next() bool {
	if c.SeriesSet.Next() {
		addInt64(c.series, 1)
		return true
	}
	return false
}

// storeCounters is a snapshot of the stores' counters. The difference of two snapshots is what
// happened in between: exact for one query at a time, and including the reads of concurrent
// queries when `serve` answers several at once.
type storeCounters struct {
	calls, series, bytes []int64
}

func snapshot(stores []*fanout.Store) storeCounters {
	c := storeCounters{make([]int64, len(stores)), make([]int64, len(stores)), make([]int64, len(stores))}
	for i, s := range stores {
		c.calls[i] = s.Stats.SeriesCalls.Load()
		c.series[i] = s.Stats.SeriesRead.Load()
		c.bytes[i] = s.Stats.SamplesBytes.Load()
	}
	return c
}

// storeDelta is what the stores did between two snapshots.
type storeDelta struct {
	touched               []string
	calls, series, chunkB int64
}

func delta(stores []*fanout.Store, before, after storeCounters) storeDelta {
	var d storeDelta
	for i, s := range stores {
		n := after.calls[i] - before.calls[i]
		if n > 0 {
			d.touched = append(d.touched, s.Name)
		}
		d.calls += n
		d.series += after.series[i] - before.series[i]
		d.chunkB += after.bytes[i] - before.bytes[i]
	}
	return d
}
