package dedup

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// NewSeriesSet merges the lanes of each group from in into one series. fn is the engine's select
// hint function name (storage.SelectHints.Func), which decides counter-aware merging (see
// IsCounterFunc). Any algo other than Chain and Gapfill merges with Penalty, as Thanos does.
// Streaming: it never holds more than one group at a time.
//
// A group of one lane is passed through untouched, so neither penalties nor counter adjustments
// apply to it.
func NewSeriesSet(in GroupSet, fn string, algo Algorithm) storage.SeriesSet {
	return &seriesSet{in: in, counter: IsCounterFunc(fn), chain: algo == Chain, gapfill: algo == Gapfill}
}

type seriesSet struct {
	in      GroupSet
	counter bool
	chain   bool
	gapfill bool
	cur     storage.Series
}

func (s *seriesSet) Next() bool {
	for s.in.Next() {
		g := s.in.At()
		switch len(g.Lanes) {
		case 0:
			continue
		case 1:
			// Its labels are the group's already; wrapping it would cost every series an
			// allocation that the engine keeps until the query ends.
			s.cur = g.Lanes[0]
			return true
		}
		// The returned series may outlive this group, so it gets its own slice.
		replicas := slices.Clone(g.Lanes)
		switch {
		case s.chain:
			s.cur = relabeled{Series: storage.ChainedSeriesMerge(replicas...), lset: g.Labels}
		case s.gapfill:
			s.cur = &gapfillSeries{lset: g.Labels, replicas: replicas, counter: s.counter}
		default:
			s.cur = &penaltySeries{lset: g.Labels, replicas: replicas, counter: s.counter}
		}
		return true
	}
	s.cur = nil
	return false
}

func (s *seriesSet) At() storage.Series { return s.cur }

func (s *seriesSet) Err() error { return s.in.Err() }

func (s *seriesSet) Warnings() annotations.Annotations { return s.in.Warnings() }

type relabeled struct {
	storage.Series
	lset labels.Labels
}

func (s relabeled) Labels() labels.Labels { return s.lset }

type penaltySeries struct {
	lset     labels.Labels
	replicas []storage.Series
	counter  bool
}

func (s *penaltySeries) Labels() labels.Labels { return s.lset }

// Iterator folds the replicas left to right, so the first replica sits
// deepest in the tree and wins ties against every later one. It reuses prev
// when it is a penalty tree of its own, down to the replicas' iterators: with
// HA pairs every series of a selector is a penaltySeries, and the engine hands
// each one the iterator of the one before (see Lane).
func (s *penaltySeries) Iterator(prev chunkenc.Iterator) chunkenc.Iterator {
	t, ok := prev.(*penaltyTree)
	if !ok {
		t = &penaltyTree{}
	}
	n := len(s.replicas)
	for len(t.replicas) < n {
		t.replicas = append(t.replicas, nil)
		t.counters = append(t.counters, counterReplica{})
	}
	for len(t.merges) < n-1 {
		t.merges = append(t.merges, penaltyIterator{})
	}
	var it chunkenc.Iterator
	for i, r := range s.replicas {
		t.replicas[i] = r.Iterator(t.replicas[i])
		var in chunkenc.Iterator = t.replicas[i]
		if s.counter {
			t.counters[i] = counterReplica{Iterator: in}
			in = &t.counters[i]
		}
		if i == 0 {
			it = in
			continue
		}
		t.merges[i-1].reset(it, in, s.counter)
		it = &t.merges[i-1]
	}
	t.Iterator = it
	return t
}

// penaltyTree is what penaltySeries.Iterator returns: the root of the merge,
// and the parts of the tree kept for the next series.
type penaltyTree struct {
	chunkenc.Iterator
	replicas []chunkenc.Iterator
	counters []counterReplica
	merges   []penaltyIterator // merges[i] joins replica i+1 to the ones before it
}
