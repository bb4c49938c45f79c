package dedup

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// Group is one label set as the Thanos proxy hands it to dedup: the replica labels removed, and
// the chunks of every store that returned it split into Lanes, each lane a series of those
// labels. NewSeriesSet merges a group's lanes into one series, in lane order, which decides ties
// and counter adjustments: lanes must come from Lanes, never one per store.
type Group struct {
	Labels labels.Labels
	Lanes  []storage.Series
}

// GroupSet is a stream of groups sorted by labels, one group per label set.
type GroupSet interface {
	Next() bool
	// At is valid until the next call of Next.
	At() *Group
	Err() error
	Warnings() annotations.Annotations
}

// Chunks is what Lanes needs to know of a store's chunks: the proxy's merge of several stores'
// chunks (pooled, byte-equal ones kept once, in Order), the proxy's order, and a chunk's time
// span as the store reported it.
type Chunks[C any] struct {
	Merge func(parts [][]C) []C
	Order func(a, b C) int
	Span  func(C) (mint, maxt int64)
}

// Lanes splits the chunks that the stores returned for one label set (one part per store) into
// the lanes algo merges. Penalty and chain see what the Querier's dedup sees: the proxy's merge
// of all parts cut by SplitOverlapping, where a lane can join chunks of two replicas. Gapfill
// judges each input by its own cadence and counter level, and a lane that changes replica in
// the middle would show it a false gap or a false counter reset, so it splits each store's
// chunks on their own. A label set without chunks has no lanes.
func Lanes[C any](algo Algorithm, parts [][]C, c Chunks[C]) [][]C {
	if algo != Gapfill {
		return SplitOverlapping(c.Merge(parts), c.Span)
	}
	var lanes [][]C
	for _, p := range parts {
		if !slices.IsSortedFunc(p, c.Order) {
			p = slices.Clone(p)
			slices.SortFunc(p, c.Order)
		}
		lanes = append(lanes, SplitOverlapping(p, c.Span)...)
	}
	return lanes
}
