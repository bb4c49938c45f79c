package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// A timeout names the limit that ran out: the engine's own, or the one the caller set on its
// context, in the caller's words.
func TestTimeoutSaysWhichLimit(t *testing.T) {
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })
	at := time.Unix(0, 0)

	_, err := New(Options{Timeout: time.Nanosecond}).Instant(context.Background(), q, "vector(1)", at)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Cause != nil || !strings.Contains(failure.Word(err, failure.Words{failure.QueryTimeout: "--timeout"}), "after 1ns (--timeout)") {
		t.Errorf("engine's timeout: %v", err)
	}

	cause := errors.New("query timed out after 1s (timeout=1s)")
	ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
	defer cancel()
	_, err = New(Options{Timeout: time.Hour}).Instant(ctx, q, "vector(1)", at)
	if !errors.As(err, &te) || err.Error() != cause.Error() || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = New(Options{}).Range(ctx, q, "vector(1)", at, at.Add(time.Hour), time.Minute)
	var ce *CanceledError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) || err.Error() != "query cancelled" {
		t.Errorf("cancelled: %v", err)
	}
}
