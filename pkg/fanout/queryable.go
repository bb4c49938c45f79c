package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Options decide how the stores' answers are combined.
type Options struct {
	// ReplicaLabels are the external labels that tell HA replicas apart.
	ReplicaLabels []string
	// Dedup merges replicas into one series, as the Querier's dedup=true.
	Dedup bool
	// DedupAlgorithm is the Querier's --deduplication.func.
	DedupAlgorithm dedup.Algorithm
	// PartialResponse turns a failing store into a warning instead of an error.
	PartialResponse bool
	// ResponseBatchSize asks stores that support it to send series in batches.
	ResponseBatchSize int64
	// StoreTimeout bounds each store's whole Series stream, retries included; 0 leaves only the
	// query's deadline.
	StoreTimeout time.Duration
	// MaxRetries is how often a store's Series call is tried again after a transient failure
	// (a reset, a dropped tunnel), with RetryBackoff doubling between attempts; OnRetry, when
	// set, is called for each retry.
	MaxRetries   int
	RetryBackoff time.Duration
	OnRetry      func()
	// MaxSeries fails a query that reads more series than this from the stores, counted over
	// all its selectors after merging the stores' answers and before dedup; 0 is no limit.
	MaxSeries int64
}

func (o *Options) dedup() bool { return o.Dedup && len(o.ReplicaLabels) > 0 }

func (o *Options) retryBackoff() time.Duration {
	if o.RetryBackoff > 0 {
		return o.RetryBackoff
	}
	return failure.BackoffBase
}

// Queryable is a storage.Queryable over a fixed set of stores.
type Queryable struct {
	Stores []*Store
	Opts   Options
}

// Querier implements storage.Queryable.
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{q: q, mint: mint, maxt: maxt}, nil
}

type querier struct {
	q          *Queryable
	mint, maxt int64
	series     atomic.Int64 // read so far by all Selects, for MaxSeries
}

func (*querier) Close() error { return nil }

// Select streams the series of every matching store, merged, and deduplicated if asked. Output is
// always sorted by labels, so sortSeries needs no extra work.
func (qr *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	opts := &qr.q.Opts
	mint, maxt := qr.mint, qr.maxt
	req := &store.SeriesRequest{
		MinTime:           mint,
		MaxTime:           maxt,
		Matchers:          ms,
		PartialResponse:   opts.PartialResponse,
		ResponseBatchSize: opts.ResponseBatchSize,
	}
	fn := ""
	if hints != nil {
		req.MinTime, req.MaxTime = hints.Start, hints.End
		req.Step, req.Range, req.Func = hints.Step, hints.Range, hints.Func
		req.By, req.Grouping = hints.By, hints.Grouping
		req.SkipChunks = hints.Func == "series"
		req.Limit = int64(hints.Limit)
		fn = hints.Func
	}

	var stores []*Store
	for _, s := range qr.q.Stores {
		if s.matches(req.MinTime, req.MaxTime, ms) {
			stores = append(stores, s)
		}
	}
	srcs, names, warns, err := readAll(ctx, stores, req, opts)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	m := newMerger(srcs, names, opts.PartialResponse)
	m.warnings = append(m.warnings, warns...)
	set := &groupSeriesSet{
		m:          m,
		sel:        &selectParams{fn: fn, mint: mint, maxt: maxt},
		split:      opts.dedup(),
		perReplica: opts.dedup() && opts.DedupAlgorithm == dedup.Gapfill,
		count:      &qr.series,
		maxSeries:  opts.MaxSeries,
	}
	if !opts.dedup() {
		return set
	}
	return dedup.NewSeriesSet(set, fn, opts.DedupAlgorithm)
}

// groupSeriesSet turns merged groups into series. With dedup it yields, per label set, one series
// per non-overlapping run of chunks: the replicas that the dedup stage then merges.
//
// perReplica splits each store's chunks on their own instead of the merged chunks of all stores.
// The Querier's lanes (split) may join a chunk of one replica to a chunk of another; penalty
// must see them that way to give the Querier's answers, but gapfill judges each input by its own
// cadence and counter level, and a lane that changes replica in the middle shows it a false gap
// or a false counter reset.
type groupSeriesSet struct {
	m          *merger
	sel        *selectParams
	split      bool
	perReplica bool
	pending    [][]store.Chunk
	lset       labels.Labels
	cur        *chunkSeries

	count     *atomic.Int64
	maxSeries int64
	err       error
}

// SeriesLimitError is a query stopped by Options.MaxSeries.
type SeriesLimitError struct{ Limit int64 }

func (e *SeriesLimitError) Error() string {
	return fmt.Sprintf("the query reads more than %d series from the stores (--max-series): narrow its selectors with label matchers or a shorter range, or raise --max-series", e.Limit)
}

func (s *groupSeriesSet) Next() bool {
	if s.err != nil {
		return false
	}
	if len(s.pending) == 0 {
		if !s.m.Next() {
			s.m.Close()
			return false
		}
		if s.maxSeries > 0 && s.count.Add(1) > s.maxSeries {
			// Stop reading at once: the streams are what would exhaust memory.
			s.err = &SeriesLimitError{Limit: s.maxSeries}
			s.m.Close()
			return false
		}
		g := s.m.At()
		s.lset = g.labels
		switch {
		case s.perReplica:
			s.pending = replicaLanes(g.parts)
		case s.split:
			s.pending = dedup.SplitOverlapping(mergeChunks(g.parts), chunkSpan)
		}
		if len(s.pending) == 0 {
			s.pending = [][]store.Chunk{mergeChunks(g.parts)}
		}
	}
	// A new series each time: the engine and the dedup stage keep earlier ones.
	s.cur = &chunkSeries{lset: s.lset, chunks: s.pending[0], sel: s.sel}
	s.pending = s.pending[1:]
	return true
}

func (s *groupSeriesSet) At() storage.Series { return s.cur }

func (s *groupSeriesSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.m.Err()
}

func (s *groupSeriesSet) Warnings() annotations.Annotations {
	var a annotations.Annotations
	for _, w := range s.m.Warnings() {
		a.Add(errors.New(w))
	}
	return a
}

// countingSource records what a store sent in its Stats.
type countingSource struct {
	st     store.SeriesStream
	stats  *Stats
	ctx    context.Context
	cancel context.CancelFunc
	done   bool
}

func (c *countingSource) Next() bool {
	if c.st.Next() {
		ser := c.st.At()
		c.stats.SeriesRead.Add(1)
		for i := range ser.Chunks {
			c.stats.SamplesBytes.Add(int64(len(ser.Chunks[i].Data)))
		}
		return true
	}
	c.finish()
	return false
}

func (c *countingSource) finish() {
	if !c.done {
		c.done = true
		c.stats.FramesRead.Add(int64(c.st.Frames()))
		c.cancel()
	}
}

func (c *countingSource) At() *store.Series { return c.st.At() }
func (c *countingSource) Err() error {
	if err := c.st.Err(); err != nil {
		return withCause(c.ctx, err)
	}
	return nil
}
func (c *countingSource) Warnings() []string { return c.st.Warnings() }
func (c *countingSource) Close()             { c.finish(); c.st.Close() }

// storeTimeoutError is the cause recorded when a store exceeds --store-timeout.
type storeTimeoutError struct{ d time.Duration }

func (e *storeTimeoutError) Error() string {
	return fmt.Sprintf("slow: no complete answer within %s (--store-timeout)", e.d)
}

// withCause replaces a bare cancellation with the reason the context was cancelled for.
func withCause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
		var ste *storeTimeoutError
		if errors.As(c, &ste) {
			return c
		}
	}
	return err
}
