package frontend

import (
	"context"
	"errors"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// Transient reports whether the query may succeed if evaluated again: see failure.Transient;
// errors in the query itself never are.
func Transient(err error) bool {
	var pe *engine.ParseError
	if errors.As(err, &pe) {
		return false
	}
	return failure.Transient(err)
}

// GaveUpError is a transient failure that outlasted the retries.
type GaveUpError = failure.GaveUpError

// retry runs do until it succeeds, fails for good, or has failed transiently maxRetries+1
// times, waiting between attempts; each retry is counted in *retries. Every attempt evaluates
// the whole piece again from scratch, so a retried piece can neither lose nor repeat samples.
func retry[T any](ctx context.Context, maxRetries int, base time.Duration, retries *int64, do func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := do()
		if err == nil || !Transient(err) {
			return v, err
		}
		if attempt >= maxRetries {
			if maxRetries == 0 {
				return v, err
			}
			return v, &GaveUpError{Attempts: attempt + 1, Err: err}
		}
		t := time.NewTimer(failure.Backoff(base, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			why := "the query was cancelled"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = "{timeout} ran out"
			}
			return v, &failure.RetriesCutShort{Err: err, Why: failure.Message(why), Attempts: attempt + 1}
		case <-t.C:
		}
		addInt64(retries, 1)
	}
}
