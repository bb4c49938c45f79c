package cmd

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// fakeStore answers every Series call with fail(ctx), counting the calls.
type fakeStore struct {
	calls atomic.Int64
	fail  func(context.Context) error
}

func (s *fakeStore) Series(ctx context.Context, _ *store.SeriesRequest) (store.SeriesStream, error) {
	s.calls.Add(1)
	return nil, s.fail(ctx)
}

func (*fakeStore) LabelNames(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}

func (*fakeStore) LabelValues(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}

func execute(t *testing.T, s *fakeStore, args ...string) error {
	t.Helper()
	o := NewQueryOptions(genericiooptions.NewTestIOStreamsDiscard())
	if err := QueryFlagSet(o).Parse(args[1:]); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(args[:1]); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	store := &fanout.Store{Name: "ns/prometheus-0", Client: s, Info: store.Info{IsStore: true, MinTime: math.MinInt64, MaxTime: math.MaxInt64}}
	return o.Execute(context.Background(), []*fanout.Store{store}, nil)
}

// A store that never answers runs into --timeout, and the error names that flag.
func TestTimeoutNamesTheFlag(t *testing.T) {
	stuck := &fakeStore{fail: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	err := execute(t, stuck, "up", "--timeout", "50ms")
	if err == nil || !strings.HasPrefix(err.Error(), "query timed out after 50ms (--timeout); narrow the query or raise --timeout") || ExitCode(err) != 1 {
		t.Errorf("got %v", err)
	}
}

// --timeout bounds the whole query, retries included, not each attempt: a store that keeps
// failing transiently is not retried past it.
func TestTimeoutBoundsRetries(t *testing.T) {
	flaky := &fakeStore{fail: func(context.Context) error { return status.Error(codes.Unavailable, "connection reset by peer") }}
	err := execute(t, flaky, "up", "--timeout", "50ms", "--max-retries", "5")
	if err == nil || !strings.Contains(err.Error(), "--timeout") || strings.Contains(err.Error(), "still failing after") {
		t.Errorf("got %v", err)
	}
	if n := flaky.calls.Load(); n >= 6 {
		t.Errorf("%d attempts: the retries outlasted --timeout", n)
	}
}
