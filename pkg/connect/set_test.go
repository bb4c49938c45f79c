package connect

import (
	"slices"
	"sync"
	"testing"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// Retain must close exactly the connections of the stores it drops, failed ones included, and
// leave the others to Close.
func TestRetainClosesWhatItDrops(t *testing.T) {
	var (
		mu     sync.Mutex
		closed []string
	)
	set := &Set{}
	add := func(s *Set, name, kctx string, failed bool) {
		s.onClose(name, func() { mu.Lock(); closed = append(closed, name); mu.Unlock() })
		if failed {
			s.Failures = append(s.Failures, Failure{Name: name, Context: kctx})
			return
		}
		s.Stores = append(s.Stores, StoreInfo{Store: &fanout.Store{Name: name}, Context: kctx})
	}
	add(set, "eu/query-0", "eu", false)
	add(set, "eu/query-1", "eu", false)
	add(set, "eu/store-0", "eu", true)
	add(set, "us/store-0", "us", false)
	set.Retain(func(name, kctx string) bool { return kctx != "eu" || name == "eu/query-0" })
	slices.Sort(closed)
	if !slices.Equal(closed, []string{"eu/query-1", "eu/store-0"}) {
		t.Fatalf("Retain closed %v", closed)
	}
	if len(set.Stores) != 2 || len(set.Failures) != 0 {
		t.Fatalf("kept %d stores and %d failures", len(set.Stores), len(set.Failures))
	}

	other := &Set{}
	add(other, "us/prometheus-0", "us", false)
	set.Merge(other)
	closed = nil
	set.Close()
	slices.Sort(closed)
	if !slices.Equal(closed, []string{"eu/query-0", "us/prometheus-0", "us/store-0"}) {
		t.Fatalf("Close after Merge closed %v", closed)
	}
	if len(set.Stores) != 3 || set.Stores[1].Store.Name != "us/prometheus-0" {
		t.Fatalf("merged stores %+v", set.Stores)
	}
}
