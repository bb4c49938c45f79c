// Package fanout turns many StoreAPI endpoints into one Prometheus storage.Queryable: it picks
// the stores whose external labels and time range can match a selection, streams their series
// concurrently, merges the sorted streams, and deduplicates HA replicas the way Thanos Querier
// does with --query.replica-label.
package fanout

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Store is one StoreAPI endpoint together with what its Info call said.
type Store struct {
	// Name is how errors and warnings refer to the store: namespace/pod for a discovered
	// Prometheus, HOST:PORT for a static endpoint; with several contexts, prefixed by the context.
	Name string
	// Kind is how the store is read (sidecar, store gateway, ...), for its errors; may be "".
	Kind   string
	Client store.StoreClient
	Info   store.Info

	// Stats counts what was asked of the store, for the slow-query log and for tests that
	// prove pruning.
	Stats Stats
}

// Stats are a store's counters; safe for concurrent use.
type Stats struct {
	SeriesCalls  atomic.Int64
	LabelCalls   atomic.Int64
	SeriesRead   atomic.Int64
	FramesRead   atomic.Int64
	SamplesBytes atomic.Int64 // chunk bytes received
}

// matches reports whether the store can hold series selected by ms in [mint, maxt]: its time
// range overlaps, and one of its external label sets agrees with every matcher that names one of
// its labels. Skipping the others saves a round trip and, for a sidecar, an error: it rejects
// requests whose matchers exclude it.
func (s *Store) matches(mint, maxt int64, ms []*labels.Matcher) bool {
	if s.Info.MinTime > maxt || s.Info.MaxTime < mint {
		return false
	}
	if len(s.Info.LabelSets) == 0 {
		return true
	}
	for _, ls := range s.Info.LabelSets {
		if labelSetMatches(ls, ms) {
			return true
		}
	}
	return false
}

func labelSetMatches(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if v := ls.Get(m.Name); v != "" && !m.Matches(v) {
			return false
		}
	}
	return true
}

// stripLabels returns ls without the named labels; ls itself when none is present.
func stripLabels(ls labels.Labels, names []string) labels.Labels {
	found := false
	for _, n := range names {
		if ls.Has(n) {
			found = true
			break
		}
	}
	if !found {
		return ls
	}
	b := labels.NewBuilder(ls)
	b.Del(names...)
	return b.Labels()
}

// ExternalLabelNames returns the sorted union of the stores' external label names.
func ExternalLabelNames(stores []*Store) []string {
	var names []string
	for _, s := range stores {
		for _, ls := range s.Info.LabelSets {
			ls.Range(func(l labels.Label) {
				if !slices.Contains(names, l.Name) {
					names = append(names, l.Name)
				}
			})
		}
	}
	slices.Sort(names)
	return names
}

// ExternalLabelNames are the names of the store's external labels, the replica labels aside:
// what tells where a rule or a target runs.
func (s *Store) ExternalLabelNames(replicaLabels []string) []string {
	var names []string
	for _, ls := range s.Info.LabelSets {
		ls.Range(func(l labels.Label) {
			if !slices.Contains(replicaLabels, l.Name) && !slices.Contains(names, l.Name) {
				names = append(names, l.Name)
			}
		})
	}
	return names
}
