package dedup

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// NewSeriesSet merges each run of consecutive series with identical labels
// from in into one series. in must be sorted by labels, with replica labels
// already removed from each series' labels (so replicas of the same series
// are adjacent); equal label sets that are not adjacent stay separate series.
// fn is the engine's select hint function name (storage.SelectHints.Func),
// which decides counter-aware merging (see IsCounterFunc). Any algo other
// than Chain and Gapfill merges with Penalty, as Thanos does. Streaming: it
// never holds more than one group at a time.
//
// A group of one series is passed through untouched, so neither penalties nor
// counter adjustments apply to it.
func NewSeriesSet(in storage.SeriesSet, fn string, algo Algorithm) storage.SeriesSet {
	return &seriesSet{in: in, counter: IsCounterFunc(fn), chain: algo == Chain, gapfill: algo == Gapfill}
}

type seriesSet struct {
	in      storage.SeriesSet
	counter bool
	chain   bool
	gapfill bool

	started bool
	// next is the first series of the following group, already taken from
	// in while looking for the end of the current group.
	next    storage.Series
	scratch []storage.Series
	cur     storage.Series
}

func (s *seriesSet) Next() bool {
	if !s.started {
		s.started = true
		if s.in.Next() {
			s.next = s.in.At()
		}
	}
	if s.next == nil {
		s.cur = nil
		return false
	}

	first := s.next
	s.next = nil
	lset := first.Labels()
	group := append(s.scratch[:0], first)
	for s.in.Next() {
		sr := s.in.At()
		if !labels.Equal(lset, sr.Labels()) {
			s.next = sr
			break
		}
		group = append(group, sr)
	}
	s.scratch = group
	// Clear the scratch slots so finished groups can be collected even while
	// the slice is kept for reuse.
	defer clear(s.scratch)

	if len(group) == 1 {
		// Its labels are the group's already; wrapping it would cost every series an
		// allocation that the engine keeps until the query ends.
		s.cur = first
		return true
	}
	// The returned series may outlive this call, so it gets its own slice.
	replicas := make([]storage.Series, len(group))
	copy(replicas, group)
	switch {
	case s.chain:
		s.cur = relabeled{Series: storage.ChainedSeriesMerge(replicas...), lset: lset}
	case s.gapfill:
		s.cur = &gapfillSeries{lset: lset, replicas: replicas, counter: s.counter}
	default:
		s.cur = &penaltySeries{lset: lset, replicas: replicas, counter: s.counter}
	}
	return true
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
