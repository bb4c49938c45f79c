package fanout

import (
	"context"
	"sync"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// Answer is one store's answer to a call of one of the StoreAPI family's other services.
type Answer[T any] struct {
	Store *Store
	Value T
}

// Each makes the call ask of every store that serves the service, all at once, as the
// Querier's proxy does for Rules, Targets, Metadata and Exemplars, and returns the answers in
// the stores' order with the stores' warnings. A store that fails is named: with partial
// responses allowed in a warning, otherwise in the error, which names every store that failed.
func Each[T any](ctx context.Context, stores []*Store, serves func(*Store) bool, partial bool,
	ask func(context.Context, *Store) (T, []string, error)) ([]Answer[T], []error, error) {
	var asked []*Store
	for _, s := range stores {
		if serves(s) {
			asked = append(asked, s)
		}
	}
	type result struct {
		v     T
		warns []string
		err   error
	}
	results := make([]result, len(asked))
	var wg sync.WaitGroup
	for i, s := range asked {
		wg.Go(func() {
			v, w, err := ask(ctx, s)
			results[i] = result{v, w, err}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var (
		out      []Answer[T]
		warnings []error
		failed   []error
	)
	for i, r := range results {
		s := asked[i]
		if r.err != nil {
			f := storeapi.Failed(s.Name, s.Kind, r.err)
			if partial {
				warnings = append(warnings, PartialWarning(f))
			} else {
				failed = append(failed, f)
			}
			continue
		}
		for _, w := range r.warns {
			warnings = append(warnings, StoreWarning(s.Name, w))
		}
		out = append(out, Answer[T]{Store: s, Value: r.v})
	}
	if len(failed) > 0 {
		return nil, warnings, failure.Join(failed...)
	}
	return out, warnings, nil
}
