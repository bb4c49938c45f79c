package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// The engine selects every selector of a query before it reads any: the stores are asked for all
// of them at once. Each store holds its calls until both selectors' calls have reached it, which
// reads made one Select after another would never do.
func TestSelectsReadTogether(t *testing.T) {
	gate, arrived := make(chan struct{}), make(chan struct{}, 2)
	f := &fakeStore{series: names("a", "b"), gate: gate, arrived: arrived}
	q, _ := (&Queryable{Stores: []*Store{storeOf("eu-0", f)}}).Querier(0, 1000)
	defer q.Close()
	m := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	// On a goroutine of its own: a Select that read at once would block there, not here.
	sets := make(chan storage.SeriesSet, 2)
	go func() {
		sets <- q.Select(context.Background(), true, nil, m)
		sets <- q.Select(context.Background(), true, nil, m)
	}()
	for i := range 2 {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d Series call(s) reached the store after two Selects, want 2 at once", i)
		}
	}
	close(gate)
	for range 2 {
		set := <-sets
		n := 0
		for set.Next() {
			n++
		}
		if n != 2 || set.Err() != nil {
			t.Fatalf("%d series, %v; want a and b", n, set.Err())
		}
	}
}

// A set the engine never reads (a query that failed on another selector) has its reads ended by
// the querier's Close, which returns only once they have.
func TestCloseEndsUnreadSelects(t *testing.T) {
	f := &fakeStore{series: names("a", "b", "c"), stallAfter: 1}
	q, _ := (&Queryable{Stores: []*Store{storeOf("eu-0", f)}}).Querier(0, 1000)
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	done := make(chan struct{})
	go func() { q.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the stalled read")
	}
	if set.Next() {
		t.Fatal("a series from a set closed before it was read")
	}
	if set.Err() == nil {
		t.Fatal("a set closed before it was read has no error")
	}
}
