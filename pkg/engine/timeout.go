package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// TimeoutError is a query that ran out of time: either the deadline of the context its caller
// passed, or the engine's own Timeout. A caller that sets a deadline says which limit it was in
// the deadline's cause (context.WithTimeoutCause), worded for whoever set the limit: a flag on
// the command line, a request parameter in the API.
type TimeoutError struct {
	// Timeout is the engine's own limit.
	Timeout time.Duration
	// Cause is the cause of the caller's deadline when that deadline ended the query; nil when
	// the engine's Timeout did.
	Cause error
	err   error
}

func (e *TimeoutError) Error() string { return e.WordIn(failure.Plain) }

func (e *TimeoutError) WordIn(w failure.Words) string {
	switch {
	case e.Cause == nil:
		return failure.Message(fmt.Sprintf("query timed out after %s ({timeout}); narrow the query or raise {timeout}", e.Timeout)).In(w)
	case e.Cause == context.DeadlineExceeded:
		return "query timed out: the deadline its caller set passed"
	}
	return failure.Word(e.Cause, w)
}

func (e *TimeoutError) FailureClass() failure.Class { return failure.Timeout }

// Unwrap keeps both the deadline and what the engine said discoverable, so that a timeout is
// never taken for a failure worth retrying.
func (e *TimeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// CanceledError is a query whose caller cancelled it.
type CanceledError struct{ err error }

func (e *CanceledError) Error() string { return "query cancelled" }

func (e *CanceledError) FailureClass() failure.Class { return failure.Canceled }

func (e *CanceledError) Unwrap() []error { return []error{context.Canceled, e.err} }

// ended explains an error of a query whose context ended, by how it ended; nil while ctx is live.
// Whatever the evaluation reported then (a store's read cut short, the engine's own timeout) is
// a consequence of it.
func (e *Engine) ended(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &TimeoutError{Timeout: e.opts.Timeout, Cause: context.Cause(ctx), err: err}
	case ctx.Err() != nil:
		return &CanceledError{err: err}
	}
	return nil
}
