package remoteread

import (
	"container/heap"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// relabel turns the labels Prometheus's remote-read handler returns into the ones a Thanos
// sidecar would return for the same series: the handler merges the external labels in with the
// series' own labels winning a clash, the sidecar lets the external labels win, and then drops
// the replica labels the request asked to go without.
type relabel struct {
	ext     labels.Labels // all external labels, for the key
	attach  labels.Labels // external labels minus the dropped ones
	without []string
	b       labels.Builder
}

func newRelabel(ext labels.Labels, without []string) *relabel {
	b := labels.NewBuilder(ext)
	b.Del(without...)
	return &relabel{ext: ext, attach: b.Labels(), without: without}
}

// final is the series' label set as the sidecar sends it.
func (r *relabel) final(got labels.Labels) labels.Labels {
	if r.ext.IsEmpty() && len(r.without) == 0 {
		return got
	}
	r.b.Reset(got)
	r.b.Del(r.without...)
	r.attach.Range(func(l labels.Label) { r.b.Set(l.Name, l.Value) })
	return r.b.Labels()
}

// key is the series' label set as the TSDB stores it, the order Prometheus streams in: what the
// handler returned without the external labels it merged in.
func (r *relabel) key(got labels.Labels) labels.Labels {
	if r.ext.IsEmpty() {
		return got
	}
	r.b.Reset(got)
	r.ext.Range(func(l labels.Label) {
		if got.Get(l.Name) == l.Value {
			r.b.Del(l.Name)
		}
	})
	return r.b.Labels()
}

// item is one series waiting for its turn.
type item struct {
	got, key labels.Labels // as received; as stored
	series   *store.Series
}

// reorder restores the order by final labels, which the fanout's merge needs, while streaming.
//
// Prometheus streams series sorted by their stored labels. Inserting the same external labels into
// every set keeps that order except in one case: a set that is a prefix of the next one, e.g.
// {__name__="a"} before {__name__="a", b="1"}, which with cluster="c" added come out as
// {__name__="a", cluster="c"} after {__name__="a", b="1", cluster="c"}. Series that extend a
// given one come right after it in stored order, so a waiting series can be sent as soon as a
// series arrives that does not extend it: nothing later can sort before it any more. In practice
// the wait is one series; at worst (one bare series that every later one extends) the whole answer
// is held, which is what the sidecar always does (it buffers and sorts every response).
type reorder struct {
	h     itemHeap
	cur   []labels.Label // key of the newest arrival
	ready []*store.Series
}

// push takes the next series in stored order and moves what can no longer be overtaken to ready.
func (o *reorder) push(it *item) {
	o.cur = o.cur[:0]
	it.key.Range(func(l labels.Label) { o.cur = append(o.cur, l) })
	for len(o.h) > 0 && !isPrefix(o.h[0].key, o.cur) {
		o.ready = append(o.ready, heap.Pop(&o.h).(*item).series)
	}
	heap.Push(&o.h, it)
}

// flush moves everything left to ready, at the end of the answer.
func (o *reorder) flush() {
	for len(o.h) > 0 {
		o.ready = append(o.ready, heap.Pop(&o.h).(*item).series)
	}
}

// isPrefix reports whether the labels of a are the first labels of b.
func isPrefix(a labels.Labels, b []labels.Label) bool {
	if a.Len() > len(b) {
		return false
	}
	i, ok := 0, true
	a.Range(func(l labels.Label) {
		if ok && l != b[i] {
			ok = false
		}
		i++
	})
	return ok
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	return labels.Compare(h[i].series.Labels, h[j].series.Labels) < 0
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
