package fanout

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// LabelValues asks every store that can match and returns the sorted union. Replica labels are
// listed even when deduplicating: the Querier's label APIs show them too.
func (qr *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return qr.labels(ctx, name, hints, ms, true)
}

// LabelNames returns the sorted union of the stores' label names.
func (qr *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return qr.labels(ctx, "", hints, ms, false)
}

func (qr *querier) labels(ctx context.Context, name string, hints *storage.LabelHints, ms []*labels.Matcher, values bool) ([]string, annotations.Annotations, error) {
	opts := &qr.q.Opts
	req := store.LabelsRequest{Label: name, Start: qr.mint, End: qr.maxt, Matchers: ms, PartialResponse: opts.PartialResponse}
	if hints != nil {
		req.Limit = int64(hints.Limit)
	}
	var stores []*Store
	for _, s := range qr.q.Stores {
		if s.matches(qr.mint, qr.maxt, ms) {
			stores = append(stores, s)
		}
	}
	results := make([]*store.LabelsResponse, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			r := req
			s.Stats.LabelCalls.Add(1)
			if values {
				results[i], errs[i] = s.Client.LabelValues(ctx, &r)
			} else {
				results[i], errs[i] = s.Client.LabelNames(ctx, &r)
			}
		})
	}
	wg.Wait()

	var (
		out   []string
		warns annotations.Annotations
	)
	for i, err := range errs {
		if err != nil {
			serr := storeapi.Failed(stores[i].Name, stores[i].Kind, err)
			if !opts.PartialResponse {
				return nil, nil, serr
			}
			warns.Add(PartialWarning(serr))
			continue
		}
		for _, w := range results[i].Warnings {
			warns.Add(&storeWarning{store: stores[i].Name, msg: w})
		}
		out = append(out, results[i].Values...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out, warns, nil
}

type storeWarning struct{ store, msg string }

// StoreWarning is a warning a store sent, naming the store.
func StoreWarning(store, msg string) error { return &storeWarning{store: store, msg: msg} }

func (w *storeWarning) Error() string { return "store " + w.store + ": " + w.msg }

// PartialWarning words a store left out of a partial answer, the same wherever it is dropped:
// at connect time, when its stream fails to start, or mid-stream.
func PartialWarning(err error) error { return &partialWarning{err: err} }

type partialWarning struct{ err error }

func (w *partialWarning) Error() string { return w.WordIn(failure.Plain) }
func (w *partialWarning) WordIn(words failure.Words) string {
	return failure.Word(w.err, words) + " (partial response: its data is missing)"
}
func (w *partialWarning) Unwrap() error { return w.err }
