package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

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
	// StoreTimeout is how long a store may stay silent: the wait for its first frame and between
	// any two frames of its Series stream, as the Querier's --store.response-timeout. A slow but
	// steady store survives it however long its whole answer takes; the query's deadline bounds
	// that. 0 leaves only the query's deadline.
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

	mu   sync.Mutex
	open []*pendingSet
}

// Close ends the reads of sets the engine never read and lets go of the answers read.
func (qr *querier) Close() error {
	qr.mu.Lock()
	open := qr.open
	qr.open = nil
	qr.mu.Unlock()
	for _, p := range open {
		p.close()
	}
	return nil
}

// Select starts reading every matching store at once, on a goroutine of its own, and returns a
// set that waits for them on its first Next: the engine selects all of a query's selectors before
// it reads any, so their reads overlap instead of taking one round trip after another. The
// stores' answers come merged, and deduplicated if asked, always sorted by labels.
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
	sel := &selectParams{fn: fn, mint: mint, maxt: maxt}
	p := startPending(ctx, func(ctx context.Context) (*groupSet, storage.SeriesSet) {
		srcs, names, warns, err := readAll(ctx, stores, req, opts)
		if err != nil {
			return nil, storage.ErrSeriesSet(err)
		}
		m := newMerger(srcs, names, opts.PartialResponse)
		m.warnings = append(m.warnings, warns...)
		gs := &groupSet{m: m, sel: sel, count: &qr.series, maxSeries: opts.MaxSeries}
		if !opts.dedup() {
			return gs, &flatSet{in: gs}
		}
		gs.lanes, gs.algo = true, opts.DedupAlgorithm
		return gs, dedup.NewSeriesSet(gs, fn, opts.DedupAlgorithm)
	})
	qr.mu.Lock()
	qr.open = append(qr.open, p)
	qr.mu.Unlock()
	return p
}

// SeriesLimitError is a query stopped by Options.MaxSeries.
type SeriesLimitError struct{ Limit int64 }

func (e *SeriesLimitError) Error() string { return e.WordIn(failure.Plain) }

func (e *SeriesLimitError) WordIn(w failure.Words) string {
	return failure.Message(fmt.Sprintf("the query reads more than %d series from the stores ({max-series}): narrow its selectors with label matchers or a shorter range, or raise {max-series}", e.Limit)).In(w)
}

func (e *SeriesLimitError) FailureClass() failure.Class { return failure.Limit }

// countingSource records what a store sent in its Stats, and holds off its idle timer (when one
// is set) each time a frame arrives.
type countingSource struct {
	st     store.SeriesStream
	stats  *Stats
	ctx    context.Context
	cancel func()
	done   bool
	idle   *idleTimer
}

func (c *countingSource) Next() bool {
	if c.st.Next() {
		c.idle.heard(c.st.Frames())
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

// storeTimeoutError is the cause recorded when a store stays silent longer than --store-timeout.
type storeTimeoutError struct{ d time.Duration }

func (e *storeTimeoutError) Error() string { return e.WordIn(failure.Plain) }

func (e *storeTimeoutError) WordIn(w failure.Words) string {
	return failure.Message(fmt.Sprintf("slow: sent nothing for %s ({store-timeout})", e.d)).In(w)
}

func (e *storeTimeoutError) FailureClass() failure.Class { return failure.Timeout }

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
