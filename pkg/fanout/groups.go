package fanout

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// proxyChunks is how dedup.Lanes sees our chunks: merged and ordered as the Thanos proxy does.
var proxyChunks = dedup.Chunks[store.Chunk]{Merge: mergeChunks, Order: proxyOrder, Span: chunkSpan}

// groupSet turns the merged stores' answers into dedup's groups: per label set, the lanes
// dedup.Lanes makes for the algorithm, or, without dedup, one series of every store's chunks
// merged as the proxy merges them.
type groupSet struct {
	m     *merger
	sel   *selectParams
	lanes bool
	algo  dedup.Algorithm
	cur   dedup.Group

	count     *atomic.Int64
	maxSeries int64
	err       error
}

func (s *groupSet) Next() bool {
	if s.err != nil {
		return false
	}
	if !s.m.Next() {
		s.m.Close()
		return false
	}
	if s.maxSeries > 0 && s.count.Add(1) > s.maxSeries {
		// Stop reading at once: the streams are what would exhaust memory.
		s.err = &SeriesLimitError{Limit: s.maxSeries}
		s.m.Close()
		return false
	}
	g := s.m.At()
	var lanes [][]store.Chunk
	if s.lanes {
		lanes = dedup.Lanes(s.algo, g.parts, proxyChunks)
	}
	if len(lanes) == 0 {
		// Without dedup, or a label set without chunks (a series call): one series all the same.
		lanes = [][]store.Chunk{mergeChunks(g.parts)}
	}
	s.cur.Labels = g.labels
	// A new series each time: the engine and the dedup stage keep earlier ones.
	s.cur.Lanes = s.cur.Lanes[:0]
	for _, l := range lanes {
		s.cur.Lanes = append(s.cur.Lanes, &chunkSeries{lset: g.labels, chunks: l, sel: s.sel})
	}
	return true
}

func (s *groupSet) At() *dedup.Group { return &s.cur }

func (s *groupSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.m.Err()
}

func (s *groupSet) Warnings() annotations.Annotations {
	var a annotations.Annotations
	for _, w := range s.m.Warnings() {
		a.Add(w)
	}
	return a
}

// flatSet is a groupSet's lanes one after another, for a query without dedup.
type flatSet struct {
	in *groupSet
	i  int
}

func (f *flatSet) Next() bool {
	for f.i+1 >= len(f.in.cur.Lanes) {
		if !f.in.Next() {
			return false
		}
		f.i = -1
	}
	f.i++
	return true
}

func (f *flatSet) At() storage.Series                { return f.in.cur.Lanes[f.i] }
func (f *flatSet) Err() error                        { return f.in.Err() }
func (f *flatSet) Warnings() annotations.Annotations { return f.in.Warnings() }

// pendingSet is a Select's answer while its stores are still being read: every method waits for
// the reads to end first.
type pendingSet struct {
	done   chan struct{}
	cancel context.CancelFunc
	gs     *groupSet // nil when the reads failed
	set    storage.SeriesSet
}

func startPending(ctx context.Context, read func(context.Context) (*groupSet, storage.SeriesSet)) *pendingSet {
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingSet{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.gs, p.set = read(ctx)
	}()
	return p
}

func (p *pendingSet) Next() bool {
	<-p.done
	return p.set.Next()
}

func (p *pendingSet) At() storage.Series { return p.set.At() }

func (p *pendingSet) Err() error {
	<-p.done
	return p.set.Err()
}

func (p *pendingSet) Warnings() annotations.Annotations {
	<-p.done
	return p.set.Warnings()
}

// close ends reads still under way and lets go of what was read.
func (p *pendingSet) close() {
	p.cancel()
	<-p.done
	if p.gs != nil {
		p.gs.m.Close()
	}
}
