package fanout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// fakeStore answers Series from a list. Its faults stand in for what the fault suite does to
// real sidecars with toxiproxy, and for what no real store does on demand: a reader that panics.
type fakeStore struct {
	series []*store.Series
	// stallAfter > 0: send that many series, then hear nothing until the call is cancelled.
	stallAfter int
	// every > 0: each series comes in a frame of its own, this long after the one before.
	every time.Duration
	// gate, when set, holds every Series call until it is closed; each call says on arrived
	// that it has come.
	gate    <-chan struct{}
	arrived chan<- struct{}
	// failures: this many calls fail with a reset connection before one answers.
	failures atomic.Int32
	panics   bool
	calls    atomic.Int32
}

func (f *fakeStore) Series(ctx context.Context, _ *store.SeriesRequest) (store.SeriesStream, error) {
	f.calls.Add(1)
	if f.gate != nil {
		f.arrived <- struct{}{}
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if f.failures.Add(-1) >= 0 {
		return nil, status.Error(codes.Unavailable, "error reading from server: connection reset by peer")
	}
	return &fakeStream{f: f, ctx: ctx}, nil
}

func (*fakeStore) LabelNames(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}
func (*fakeStore) LabelValues(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}

type fakeStream struct {
	f   *fakeStore
	ctx context.Context
	i   int
	err error
}

func (s *fakeStream) Next() bool {
	if s.f.panics {
		var nilSlice []int
		_ = nilSlice[s.i+3] // a reader bug
	}
	if s.f.stallAfter > 0 && s.i == s.f.stallAfter {
		<-s.ctx.Done()
		s.err = status.FromContextError(s.ctx.Err()).Err()
		return false
	}
	if s.i >= len(s.f.series) {
		return false
	}
	if s.f.every > 0 {
		select {
		case <-time.After(s.f.every):
		case <-s.ctx.Done():
			s.err = status.FromContextError(s.ctx.Err()).Err()
			return false
		}
	}
	s.i++
	return true
}
func (s *fakeStream) At() *store.Series { return s.f.series[s.i-1] }
func (s *fakeStream) Err() error        { return s.err }
func (*fakeStream) Warnings() []string  { return nil }
func (*fakeStream) Close()              {}
func (s *fakeStream) Frames() int       { return s.i }

func storeOf(name string, f *fakeStore) *Store {
	return &Store{Name: name, Client: f, Info: store.Info{MinTime: 0, MaxTime: 1 << 60}}
}

func names(n ...string) []*store.Series {
	out := make([]*store.Series, len(n))
	for i, s := range n {
		out[i] = ser(s, byte(i))
	}
	return out
}

func selectAll(t *testing.T, stores []*Store, o Options) ([]string, []string, error) {
	t.Helper()
	q, _ := (&Queryable{Stores: stores, Opts: o}).Querier(0, 1000)
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var got []string
	for ss.Next() {
		got = append(got, ss.At().Labels().Get("__name__"))
	}
	var warns []string
	for _, w := range ss.Warnings() {
		warns = append(warns, w.Error())
	}
	return got, warns, ss.Err()
}

// One store stalls after sending part of its answer. Partial: the answer is exactly the other
// stores' and the warning names the stalled store alone; strict: the error names it alone.
func TestStalledStoreEndsOnlyItself(t *testing.T) {
	mk := func() []*Store {
		return []*Store{
			storeOf("eu-0", &fakeStore{series: names("a", "b", "c")}),
			storeOf("slow", &fakeStore{series: names("a", "x", "y", "z"), stallAfter: 2}),
			storeOf("us-0", &fakeStore{series: names("d", "e")}),
		}
	}
	o := Options{StoreTimeout: 100 * time.Millisecond, PartialResponse: true}
	got, warns, err := selectAll(t, mk(), o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a b c d e" {
		t.Errorf("partial answer %v, want the healthy stores' a b c d e and nothing of the slow one's", got)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "store slow:") || !strings.Contains(warns[0], "the store timeout") {
		t.Errorf("warnings %q, want one naming the slow store and its timeout", warns)
	}

	o.PartialResponse = false
	_, _, err = selectAll(t, mk(), o)
	if err == nil || !strings.Contains(err.Error(), "store slow:") || strings.Contains(err.Error(), "eu-0") || strings.Contains(err.Error(), "us-0") {
		t.Fatalf("strict: %v, want an error naming the slow store only", err)
	}
}

// A reader that panics fails its store, strictly an error, never a success with a warning.
func TestReaderPanicIsThatStoresError(t *testing.T) {
	stores := []*Store{storeOf("eu-0", &fakeStore{series: names("a")}), storeOf("broken", &fakeStore{series: names("b"), panics: true})}
	_, _, err := selectAll(t, stores, Options{})
	if err == nil || !strings.Contains(err.Error(), "store broken:") || strings.Contains(err.Error(), "eu-0") {
		t.Fatalf("got %v, want an error naming the broken store", err)
	}
	got, warns, err := selectAll(t, stores, Options{PartialResponse: true})
	if err != nil || strings.Join(got, " ") != "a" || len(warns) != 1 || !strings.Contains(warns[0], "store broken:") {
		t.Fatalf("partial: %v %v %v", got, warns, err)
	}
}

// A blip is retried on that store alone, with partial responses as without; a store that stays
// down gives up naming the attempts.
func TestTransientFailureRetriedPerStore(t *testing.T) {
	for _, partial := range []bool{false, true} {
		blip := &fakeStore{series: names("b")}
		blip.failures.Store(2)
		healthy := &fakeStore{series: names("a")}
		var retries atomic.Int32
		o := Options{PartialResponse: partial, MaxRetries: 3, RetryBackoff: time.Millisecond, OnRetry: func() { retries.Add(1) }}
		got, warns, err := selectAll(t, []*Store{storeOf("eu-0", healthy), storeOf("blip", blip)}, o)
		if err != nil || len(warns) != 0 || strings.Join(got, " ") != "a b" {
			t.Fatalf("partial=%v: %v %v %v", partial, got, warns, err)
		}
		if blip.calls.Load() != 3 || healthy.calls.Load() != 1 || retries.Load() != 2 {
			t.Fatalf("partial=%v: blip called %d times, healthy %d, %d retries", partial, blip.calls.Load(), healthy.calls.Load(), retries.Load())
		}
	}
	down := &fakeStore{}
	down.failures.Store(100)
	_, _, err := selectAll(t, []*Store{storeOf("down", down)}, Options{MaxRetries: 2, RetryBackoff: time.Millisecond})
	var gu *failure.GaveUpError
	if !errors.As(err, &gu) || gu.Attempts != 3 || !strings.Contains(err.Error(), "store down:") || failure.Transient(err) {
		t.Fatalf("got %v", err)
	}
}

// The series limit stops every reader, with and without partial responses.
func TestSeriesLimitWhileReading(t *testing.T) {
	many := make([]string, 50)
	for i := range many {
		many[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, partial := range []bool{false, true} {
		stores := []*Store{storeOf("eu-0", &fakeStore{series: names(many...)}), storeOf("eu-1", &fakeStore{series: names(many...)})}
		_, _, err := selectAll(t, stores, Options{MaxSeries: 10, PartialResponse: partial})
		var sl *SeriesLimitError
		if !errors.As(err, &sl) {
			t.Fatalf("partial=%v: %v", partial, err)
		}
	}
}

// --store-timeout bounds a store's silence, not its whole answer (the Querier's
// --store.response-timeout): a store that sends a frame every 20 ms for 600 ms in all survives a
// 200 ms timeout, while one that stops sending does not.
func TestStoreTimeoutIsPerReceive(t *testing.T) {
	steady := make([]string, 30)
	for i := range steady {
		steady[i] = fmt.Sprintf("s%02d", i)
	}
	o := Options{StoreTimeout: 200 * time.Millisecond}
	slow := &fakeStore{series: names(steady...), every: 20 * time.Millisecond}
	got, _, err := selectAll(t, []*Store{storeOf("steady", slow)}, o)
	if err != nil {
		t.Fatalf("a slow but steady store was given up on: %v", err)
	}
	if len(got) != len(steady) {
		t.Fatalf("got %d series, want %d", len(got), len(steady))
	}
	_, _, err = selectAll(t, []*Store{storeOf("silent", &fakeStore{series: names(steady...), stallAfter: 5})}, o)
	if err == nil || !strings.Contains(err.Error(), "store silent: slow: sent nothing for 200ms") {
		t.Fatalf("silent store: %v, want it given up on after 200ms of silence", err)
	}
}

// With partial responses, an answer needs at least one store: when none completes, the query
// fails naming them all instead of answering "no series".
func TestPartialWithNoStoreLeftFails(t *testing.T) {
	stores := []*Store{
		storeOf("eu-0", &fakeStore{series: names("a", "b"), stallAfter: 1}),
		storeOf("us-0", &fakeStore{series: names("c"), stallAfter: 1}),
	}
	_, _, err := selectAll(t, stores, Options{StoreTimeout: 50 * time.Millisecond, PartialResponse: true})
	if err == nil || !strings.Contains(err.Error(), "store eu-0:") || !strings.Contains(err.Error(), "store us-0:") {
		t.Fatalf("got %v, want an error naming both stores", err)
	}
}
