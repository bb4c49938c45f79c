package frontend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// Defaults: the split interval and retries as the Thanos Query Frontend has them.
const (
	DefaultSplitInterval = 24 * time.Hour
	DefaultMaxRetries    = 5
	// DefaultMaxFreshness: points newer than this are never cached, since samples for them may
	// still be arriving. The Frontend's --query-range.response-cache-max-freshness defaults to 1m;
	// a wider margin covers late scrapes and lagging replicas, and costs little: a refresh
	// evaluates the last 10 minutes again.
	DefaultMaxFreshness = 10 * time.Minute
	// DefaultParallelism bounds the parts evaluated at once: each holds its series in memory.
	DefaultParallelism = 4
)

// Options configure a Frontend. The zero value splits nothing, retries nothing, caches nothing
// and logs nothing.
type Options struct {
	SplitInterval time.Duration
	Parallelism   int
	MaxRetries    int
	Cache         *ResultsCache
	MaxFreshness  time.Duration
	SlowLog       *SlowLog
	Now           func() time.Time
	// RetryBackoff is the first wait before a retry, doubled each time up to 16 times it
	// (default 500ms).
	RetryBackoff time.Duration
}

// Frontend evaluates queries with an engine, adding splitting, retries, caching and logging.
type Frontend struct {
	Engine *engine.Engine
	opts   Options
}

// New returns a frontend over eng.
func New(eng *engine.Engine, o Options) *Frontend {
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.MaxFreshness <= 0 {
		o.MaxFreshness = DefaultMaxFreshness
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = failure.BackoffBase
	}
	return &Frontend{Engine: eng, opts: o}
}

// Request is one query over a set of stores combined as Fanout says.
type Request struct {
	Query      string
	Start, End time.Time // an instant query evaluates at Start
	Step       time.Duration
	Stores     []*fanout.Store
	Fanout     fanout.Options
	// Queryable, when set, is read instead of the stores combined as Fanout says; Stores then
	// only name them in the slow-query log and the cache key.
	Queryable storage.Queryable
}

// Instant evaluates an instant query, retrying transient failures.
func (f *Frontend) Instant(ctx context.Context, r Request) (*engine.Result, error) {
	began := time.Now()
	st := &queryStats{}
	before := snapshot(r.Stores)
	q := f.queryable(r, st)
	res, err := retry(ctx, f.opts.MaxRetries, f.opts.RetryBackoff, &st.retries, func() (*engine.Result, error) {
		return f.Engine.Instant(ctx, q, r.Query, r.Start)
	})
	if res != nil {
		st.samples = res.Samples
	}
	f.opts.SlowLog.log(record{query: r.Query, kind: "instant", start: r.Start, took: time.Since(began),
		stores: delta(r.Stores, before, snapshot(r.Stores)), stats: st, err: err})
	return res, err
}

// Range evaluates a range query: split at the interval boundaries, parts in parallel (each
// retried on transient failures, each read from the cache where it can be), merged.
func (f *Frontend) Range(ctx context.Context, r Request) (*engine.Result, error) {
	began := time.Now()
	st := &queryStats{}
	before := snapshot(r.Stores)
	res, err := f.rangeQuery(ctx, r, st)
	if res != nil {
		st.samples = res.Samples
	}
	f.opts.SlowLog.log(record{query: r.Query, kind: "range", start: r.Start, end: r.End, step: r.Step, took: time.Since(began),
		stores: delta(r.Stores, before, snapshot(r.Stores)), stats: st, err: err})
	return res, err
}

func (f *Frontend) queryable(r Request, st *queryStats) *countingQueryable {
	// Each store retries on its own, before anything is merged: a blip costs that store's
	// stream again, not the whole evaluation, and works the same with partial responses.
	fo := r.Fanout
	fo.MaxRetries, fo.RetryBackoff = f.opts.MaxRetries, f.opts.RetryBackoff
	fo.OnRetry = func() { addInt64(&st.retries, 1) }
	var q storage.Queryable = &fanout.Queryable{Stores: r.Stores, Opts: fo}
	if r.Queryable != nil {
		q = r.Queryable
	}
	return &countingQueryable{q: q, series: &st.series}
}

func (f *Frontend) rangeQuery(ctx context.Context, r Request, st *queryStats) (*engine.Result, error) {
	q := f.queryable(r, st)
	start, end, step := r.Start.UnixMilli(), r.End.UnixMilli(), r.Step.Milliseconds()
	whole := func(ctx context.Context, qs string, from, to int64) (*engine.Result, error) {
		return retry(ctx, f.opts.MaxRetries, f.opts.RetryBackoff, &st.retries, func() (*engine.Result, error) {
			return f.Engine.Range(ctx, q, qs, time.UnixMilli(from), time.UnixMilli(to), r.Step)
		})
	}
	expr, perr := parser.NewParser(parser.Options{}).ParseExpr(r.Query)
	parts := Split(start, end, step, f.opts.SplitInterval)
	st.parts = int64(len(parts))
	// Whole, as the engine would evaluate it: a sub-millisecond step or an invalid query (which
	// the engine reports in its own words) gain nothing from splitting.
	if perr != nil || step <= 0 || (len(parts) == 1 && f.opts.Cache == nil) {
		st.parts = 1
		return whole(ctx, r.Query, start, end)
	}
	qs := pinAtModifiers(expr, r.Query, start, end)
	key := ""
	if f.opts.Cache != nil {
		key = f.cacheKey(r, qs, start, step)
	}
	reach := reachOf(expr)

	results := make([]*engine.Result, len(parts))
	errs := make([]error, len(parts))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, f.opts.Parallelism)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error // the failure that stopped the others, not the cancellations it caused
	)
	for i, p := range parts {
		select {
		case sem <- struct{}{}:
		case <-pctx.Done():
			errs[i] = pctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if key == "" {
				results[i], errs[i] = whole(pctx, qs, p.Start, p.End)
			} else {
				results[i], errs[i] = f.cachedPart(pctx, key, reach, p, step, st, whole, qs)
			}
			if errs[i] != nil {
				once.Do(func() { first = errs[i]; cancel() })
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := firstError(errs); err != nil {
		return nil, err
	}
	out := &engine.Result{}
	ms := make([]promql.Matrix, len(results))
	for i, res := range results {
		m, ok := res.Value.(promql.Matrix)
		if !ok {
			return nil, fmt.Errorf("a range query gave a %s instead of a matrix", res.Value.Type())
		}
		ms[i] = m
		out.Warnings.Merge(res.Warnings)
		out.Samples += res.Samples
	}
	out.Value = mergeMatrices(ms...)
	return out, nil
}

// firstError prefers the error that stopped the query over the cancellations it caused.
func firstError(errs []error) error {
	var cancelled error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, context.Canceled) {
			if cancelled == nil {
				cancelled = err
			}
			continue
		}
		return err
	}
	return cancelled
}

// cachedPart answers one part from the cache where it holds the points, evaluating only the
// stretches it lacks, and caches what is final of those: points older than the freshness
// window, of an answer without warnings (a partial answer must not outlive the store's outage).
func (f *Frontend) cachedPart(ctx context.Context, key string, reach timeReach, p Part, step int64, st *queryStats,
	whole func(context.Context, string, int64, int64) (*engine.Result, error), qs string) (*engine.Result, error) {
	c := f.opts.Cache
	pkey := fmt.Sprintf("%s\x00%d", key, f.intervalIndex(p.Start))
	ex := c.get(pkey)
	missing := gaps(ex, p.Start, p.End, step)
	if len(missing) == 0 {
		c.hits.Add(1)
		addInt64(&st.cachedParts, 1)
	} else {
		c.misses.Add(1)
	}
	final := f.lastFinal(reach, p.Start, step)
	out := &engine.Result{}
	var (
		pieces []extent
		fresh  []extent
	)
	for _, e := range ex {
		if e.End >= p.Start && e.Start <= p.End {
			pieces = append(pieces, e)
		}
	}
	for _, m := range missing {
		res, err := whole(ctx, qs, m.Start, m.End)
		if err != nil {
			return nil, err
		}
		mat, ok := res.Value.(promql.Matrix)
		if !ok {
			return nil, fmt.Errorf("a range query gave a %s instead of a matrix", res.Value.Type())
		}
		out.Warnings.Merge(res.Warnings)
		out.Samples += res.Samples
		pieces = append(pieces, toExtentShared(m.Start, m.End, mat))
		if len(res.Warnings) == 0 && final >= m.Start {
			cut := min(m.End, final)
			fresh = append(fresh, toExtent(m.Start, cut, clip(mat, m.Start, cut)))
		}
	}
	c.add(pkey, step, fresh)
	slices.SortFunc(pieces, func(a, b extent) int { return cmp64(a.Start, b.Start) })
	ms := make([]promql.Matrix, len(pieces))
	for i, e := range pieces {
		ms[i] = clip(e.matrix(), p.Start, p.End)
	}
	out.Value = mergeMatrices(ms...)
	return out, nil
}

// toExtentShared wraps a fresh result without copying it: it is only read from here on.
func toExtentShared(start, end int64, m promql.Matrix) extent {
	e := extent{Start: start, End: end, Series: make([]cachedSeries, len(m))}
	for i, s := range m {
		var ls []labels.Label
		s.Metric.Range(func(l labels.Label) { ls = append(ls, l) })
		e.Series[i] = cachedSeries{Labels: ls, Floats: s.Floats, Histograms: s.Histograms}
	}
	return e
}

// lastFinal is the last timestamp on the part's grid whose point can no longer change; below
// the grid's first point when none can be cached.
func (f *Frontend) lastFinal(reach timeReach, gridStart, step int64) int64 {
	limit := f.opts.Now().Add(-f.opts.MaxFreshness).UnixMilli()
	if reach.maxAt > limit {
		return gridStart - step
	}
	limit -= reach.ahead
	return gridStart + floorDiv(limit-gridStart, step)*step
}

func (f *Frontend) intervalIndex(t int64) int64 {
	iv := f.opts.SplitInterval.Milliseconds()
	if iv <= 0 {
		return 0
	}
	return floorDiv(t, iv)
}

// cacheKey names a query's results: the same expression, step and position on the step grid,
// over the same stores combined the same way by an engine with the same settings. Anything
// else that changes an answer must be in here.
func (f *Frontend) cacheKey(r Request, qs string, start, step int64) string {
	var b strings.Builder
	b.WriteString(Fingerprint(r.Stores, r.Fanout, f.Engine.Options()))
	fmt.Fprintf(&b, "\x00%s\x00step=%d\x00phase=%d", qs, step, start-floorDiv(start, step)*step)
	return b.String()
}

// Fingerprint identifies the stores and every setting that shapes answers from them: store
// names, external labels and time ranges; dedup, its algorithm and replica labels; partial
// responses; the engine's lookback and default subquery step.
func Fingerprint(stores []*fanout.Store, fo fanout.Options, eo engine.Options) string {
	h := sha256.New()
	names := make([]int, len(stores))
	for i := range names {
		names[i] = i
	}
	slices.SortFunc(names, func(a, b int) int { return strings.Compare(stores[a].Name, stores[b].Name) })
	for _, i := range names {
		s := stores[i]
		fmt.Fprintf(h, "store %q %d %d", s.Name, s.Info.MinTime, s.Info.MaxTime)
		for _, ls := range s.Info.LabelSets {
			fmt.Fprintf(h, " %s", ls.String())
		}
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "dedup=%t algo=%s replica=%q partial=%t lookback=%s substep=%s",
		fo.Dedup, fo.DedupAlgorithm, fo.ReplicaLabels, fo.PartialResponse, eo.LookbackDelta, eo.SubqueryStep)
	return hex.EncodeToString(h.Sum(nil))
}
