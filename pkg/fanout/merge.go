package fanout

import (
	"container/heap"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// seriesSource is one store's stream of series, sorted by the labels it reports.
type seriesSource interface {
	Next() bool
	At() *store.Series
	Err() error
	Warnings() []string
	Close()
}

// group is one label set with the chunks each store returned for it.
type group struct {
	labels labels.Labels
	parts  [][]store.Chunk
}

type cursor struct {
	src   seriesSource
	store string
	cur   *store.Series
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return labels.Compare(h[i].cur.Labels, h[j].cur.Labels) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merger is a k-way merge of sorted store streams that yields one group per distinct label set.
// A store that fails is either fatal or, with partial responses allowed, dropped with a warning.
type merger struct {
	h        cursorHeap
	partial  bool
	cur      group
	err      error
	warnings []error
	all      []*cursor
	started  bool
}

func newMerger(srcs []seriesSource, names []string, partial bool) *merger {
	m := &merger{partial: partial}
	for i, s := range srcs {
		m.all = append(m.all, &cursor{src: s, store: names[i]})
	}
	return m
}

// advance moves c to its next series and reports whether it has one. Errors end the merge unless
// partial responses are allowed.
func (m *merger) advance(c *cursor) bool {
	if c.src.Next() {
		next := c.src.At()
		if c.cur != nil && labels.Compare(c.cur.Labels, next.Labels) > 0 {
			m.fail(c, fmt.Errorf("series out of order: %s after %s", next.Labels, c.cur.Labels))
			return false
		}
		c.cur = next
		return true
	}
	if err := c.src.Err(); err != nil {
		m.fail(c, err)
	}
	return false
}

func (m *merger) fail(c *cursor, err error) {
	c.src.Close()
	serr := storeapi.Failed(c.store, "", err)
	if m.partial {
		m.warnings = append(m.warnings, PartialWarning(serr))
		return
	}
	if m.err == nil {
		m.err = serr
	}
}

func (m *merger) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		for _, c := range m.all {
			if m.advance(c) {
				m.h = append(m.h, c)
			}
		}
		if m.err != nil {
			return false
		}
		heap.Init(&m.h)
	}
	if len(m.h) == 0 {
		return false
	}
	m.cur.labels = m.h[0].cur.Labels
	m.cur.parts = m.cur.parts[:0]
	for len(m.h) > 0 && labels.Equal(m.h[0].cur.Labels, m.cur.labels) {
		c := m.h[0]
		m.cur.parts = append(m.cur.parts, c.cur.Chunks)
		if m.advance(c) {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
		if m.err != nil {
			return false
		}
	}
	return true
}

func (m *merger) At() *group { return &m.cur }

func (m *merger) Err() error { return m.err }

// Warnings are the stores' own warning frames plus one per store dropped from a partial answer.
func (m *merger) Warnings() []error {
	w := slices.Clone(m.warnings)
	for _, c := range m.all {
		for _, s := range c.src.Warnings() {
			w = append(w, &storeWarning{store: c.store, msg: s})
		}
	}
	return w
}

func (m *merger) Close() {
	for _, c := range m.all {
		c.src.Close()
	}
}
