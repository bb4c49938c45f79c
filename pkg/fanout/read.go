package fanout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// readAll reads every store's whole answer at once, each store on its own goroutine with its
// own timeout and retries, before anything is merged. The engine keeps every selected series
// until it evaluates anyway, so reading ahead costs no memory the merge would not, and it is
// what makes a partial answer exact: a store that fails, at any point of its stream, leaves
// nothing of itself in the answer, and no store waits on another's stream.
//
// Without partial responses the first store that fails stops the others, and the error names
// the stores that failed on their own, never one that was stopped for it.
func readAll(ctx context.Context, stores []*Store, req *store.SeriesRequest, opts *Options) ([]seriesSource, []string, []error, error) {
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	bufs := make([]*bufferedSource, len(stores))
	errs := make([]error, len(stores))
	r := &reader{req: req, opts: opts, limit: opts.MaxSeries * int64(len(stores))}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			bufs[i], errs[i] = r.read(rctx, s)
			if errs[i] != nil && !opts.PartialResponse {
				stop(errStopped)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// The query itself ran out or was cancelled: no store is to blame.
		return nil, nil, nil, err
	}

	var (
		srcs   []seriesSource
		names  []string
		warns  []error
		failed []error
	)
	for i, err := range errs {
		switch {
		case err == nil:
			srcs = append(srcs, bufs[i])
			names = append(names, stores[i].Name)
		case errors.Is(err, errStopped):
		case opts.PartialResponse:
			var sl *SeriesLimitError
			if errors.As(err, &sl) {
				return nil, nil, nil, sl
			}
			warns = append(warns, PartialWarning(err))
		default:
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 && len(srcs) == 0 && len(warns) > 0 {
		// Partial, but no store answered: an empty answer would read as "no such series".
		for _, err := range errs {
			if !errors.Is(err, errStopped) {
				failed = append(failed, err)
			}
		}
	}
	if len(failed) > 0 {
		return nil, nil, nil, joinFailures(failed)
	}
	return srcs, names, warns, nil
}

// errStopped is the cause given to the stores still reading when another one failed.
var errStopped = errors.New("stopped: another store failed")

// joinFailures is one error naming every store that failed; the first keeps its type for
// errors.As (a retry's GaveUpError, a SeriesLimitError).
func joinFailures(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	var sl *SeriesLimitError
	for _, err := range errs {
		if errors.As(err, &sl) {
			return sl
		}
	}
	return failure.JoinInline(errs...)
}

// reader reads one store's answer for one selection.
type reader struct {
	req   *store.SeriesRequest
	opts  *Options
	seen  atomic.Int64 // series read by all stores of the selection, for the limit
	limit int64        // on seen: MaxSeries per store, a bound the merged count must exceed first
}

// read tries the store until it answers whole, fails for good or runs out of retries. A store
// silent for longer than its --store-timeout fails for good: like the Querier, we give up on a
// slow store rather than ask it again. A panic in the reader is this store's failure, not the
// process's.
func (r *reader) read(ctx context.Context, s *Store) (buf *bufferedSource, err error) {
	defer func() {
		if p := recover(); p != nil {
			buf, err = nil, storeapi.Failed(s.Name, s.Kind, fmt.Errorf("reading its answer failed: %v", p))
		}
	}()
	for attempt := 0; ; attempt++ {
		// A store that came back must not wait out gRPC's reconnect backoff (a no-op on a
		// connection that is up).
		if w, ok := s.Client.(waker); ok {
			w.ResetBackoff()
		}
		buf, err := r.once(ctx, s)
		if err == nil {
			return buf, nil
		}
		if c := context.Cause(ctx); c != nil && errors.Is(c, errStopped) {
			return nil, errStopped
		}
		serr := storeapi.Failed(s.Name, s.Kind, err)
		if !failure.Transient(err) || ctx.Err() != nil {
			return nil, serr
		}
		if attempt >= r.opts.MaxRetries {
			if r.opts.MaxRetries == 0 {
				return nil, serr
			}
			return nil, &failure.GaveUpError{Attempts: attempt + 1, Err: serr}
		}
		t := time.NewTimer(failure.Backoff(r.opts.retryBackoff(), attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			if c := context.Cause(ctx); c != nil && errors.Is(c, errStopped) {
				return nil, errStopped
			}
			return nil, &failure.RetriesCutShort{Err: serr, Why: retryStoppedWhy(ctx), Attempts: attempt + 1}
		case <-t.C:
		}
		if r.opts.OnRetry != nil {
			r.opts.OnRetry()
		}
	}
}

func retryStoppedWhy(ctx context.Context) failure.Message {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the query's timeout ran out"
	}
	return "the query was cancelled"
}

// waker is a client whose connection can be told to reconnect now rather than after its backoff.
type waker interface{ ResetBackoff() }

// once makes one Series call and reads its stream to the end.
func (r *reader) once(ctx context.Context, s *Store) (*bufferedSource, error) {
	q := *r.req
	strip := r.opts.dedup() && !s.Info.SupportsWithoutReplicaLabels
	if r.opts.dedup() && s.Info.SupportsWithoutReplicaLabels {
		q.WithoutReplicaLabels = r.opts.ReplicaLabels
	}
	s.Stats.SeriesCalls.Add(1)
	ctx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(nil) }
	defer cancel()
	idle := startIdle(r.opts.StoreTimeout, cancelCause)
	defer idle.stop()
	st, err := s.Client.Series(ctx, &q)
	if err != nil {
		return nil, withCause(ctx, err)
	}
	src := &countingSource{st: st, stats: &s.Stats, ctx: ctx, cancel: cancel, idle: idle}
	defer src.Close()
	buf := &bufferedSource{i: -1}
	for src.Next() {
		ser := src.At()
		if strip {
			ser.Labels = stripLabels(ser.Labels, r.opts.ReplicaLabels)
		} else if n := len(buf.series); n > 0 && labels.Compare(buf.series[n-1].Labels, ser.Labels) > 0 {
			return nil, fmt.Errorf("series out of order: %s after %s", ser.Labels, buf.series[n-1].Labels)
		}
		buf.series = append(buf.series, ser)
		if r.limit > 0 && r.seen.Add(1) > r.limit {
			// Stop at once: the streams are what would exhaust memory.
			return nil, &SeriesLimitError{Limit: r.opts.MaxSeries}
		}
	}
	if err := src.Err(); err != nil {
		return nil, err
	}
	if strip {
		// This store keeps replica labels in place, so stripping them can break its order.
		slices.SortStableFunc(buf.series, func(a, b *store.Series) int { return labels.Compare(a.Labels, b.Labels) })
	}
	buf.warnings = src.Warnings()
	return buf, nil
}

// bufferedSource is a store's whole answer, read.
type bufferedSource struct {
	series   []*store.Series
	warnings []string
	i        int
}

// Next lets go of the series the merge has passed: what the engine keeps of it is its own, and
// the frame it was decoded into can be freed once the merge has passed all of that frame.
func (b *bufferedSource) Next() bool {
	if b.i >= 0 {
		b.series[b.i] = nil
	}
	if b.i+1 >= len(b.series) {
		b.series = nil
		return false
	}
	b.i++
	return true
}
func (b *bufferedSource) At() *store.Series  { return b.series[b.i] }
func (*bufferedSource) Err() error           { return nil }
func (b *bufferedSource) Warnings() []string { return b.warnings }
func (b *bufferedSource) Close()             { b.series = nil }
