package fanout

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

func TestMergeChunksDropsDuplicatesAndOrders(t *testing.T) {
	a := store.Chunk{MinTime: 10, MaxTime: 20, Data: []byte{1}}
	b := store.Chunk{MinTime: 0, MaxTime: 9, Data: []byte{2}}
	c := store.Chunk{MinTime: 10, MaxTime: 15, Data: []byte{3}}
	d := store.Chunk{MinTime: 10, MaxTime: 20, Data: []byte{4}} // same span as a, larger bytes
	got := mergeChunks([][]store.Chunk{{a, b}, {b, c, d, a}})
	want := []byte{2, 3, 4, 1} // by min time, max time, then data descending; b and a once
	if len(got) != len(want) {
		t.Fatalf("got %d chunks, want %d", len(got), len(want))
	}
	for i, c := range got {
		if c.Data[0] != want[i] {
			t.Fatalf("position %d: chunk %d, want %d", i, c.Data[0], want[i])
		}
	}
}

func TestStoreMatching(t *testing.T) {
	s := &Store{Name: "eu", Info: store.Info{
		MinTime: 1000, MaxTime: 5000,
		LabelSets: []labels.Labels{labels.FromStrings("cluster", "eu", "replica", "0")},
	}}
	eq := func(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, n, v) }
	for _, tc := range []struct {
		mint, maxt int64
		ms         []*labels.Matcher
		want       bool
	}{
		{0, 999, []*labels.Matcher{eq("__name__", "up")}, false}, // before its data
		{5001, 9000, []*labels.Matcher{eq("__name__", "up")}, false},
		{0, 1000, []*labels.Matcher{eq("__name__", "up")}, true},
		{0, 9000, []*labels.Matcher{eq("cluster", "us")}, false}, // external label excludes it
		{0, 9000, []*labels.Matcher{eq("cluster", "eu"), eq("job", "x")}, true},
		{0, 9000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "cluster", "e.*")}, true},
	} {
		if got := s.matches(tc.mint, tc.maxt, tc.ms); got != tc.want {
			t.Errorf("matches(%d, %d, %v) = %v, want %v", tc.mint, tc.maxt, tc.ms, got, tc.want)
		}
	}
}

// listSource is an in-memory store stream; failing after n series stands in for a tunnel that
// drops mid-stream, which the real bed cannot produce on demand in a unit test.
type listSource struct {
	series []*store.Series
	i      int
	failAt int
	err    error
	closed bool
}

func (l *listSource) Next() bool {
	if l.failAt > 0 && l.i == l.failAt {
		l.err = errors.New("connection reset")
		return false
	}
	if l.i >= len(l.series) {
		return false
	}
	l.i++
	return true
}
func (l *listSource) At() *store.Series  { return l.series[l.i-1] }
func (l *listSource) Err() error         { return l.err }
func (l *listSource) Warnings() []string { return nil }
func (l *listSource) Close()             { l.closed = true }

func ser(name string, chunkByte byte) *store.Series {
	return &store.Series{Labels: labels.FromStrings("__name__", name), Chunks: []store.Chunk{{Data: []byte{chunkByte}}}}
}

func TestMergerGroupsEqualLabels(t *testing.T) {
	a := &listSource{series: []*store.Series{ser("a", 1), ser("c", 2)}}
	b := &listSource{series: []*store.Series{ser("a", 3), ser("b", 4)}}
	m := newMerger([]seriesSource{a, b}, []string{"s1", "s2"}, false)
	var got []string
	for m.Next() {
		g := m.At()
		got = append(got, g.labels.Get("__name__")+":"+string(rune('0'+len(g.parts))))
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
	if strings.Join(got, " ") != "a:2 b:1 c:1" {
		t.Fatalf("groups: %v", got)
	}
}

func TestMergerStoreFailure(t *testing.T) {
	mk := func() []seriesSource {
		return []seriesSource{
			&listSource{series: []*store.Series{ser("a", 1), ser("b", 2), ser("c", 3)}, failAt: 1},
			&listSource{series: []*store.Series{ser("a", 4), ser("d", 5)}},
		}
	}
	strict := newMerger(mk(), []string{"europe/p-0", "us/p-0"}, false)
	for strict.Next() {
	}
	if err := strict.Err(); err == nil || !strings.Contains(err.Error(), "store europe/p-0") || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("strict: want an error naming the store, got %v", err)
	}

	partial := newMerger(mk(), []string{"europe/p-0", "us/p-0"}, true)
	n := 0
	for partial.Next() {
		n++
	}
	if partial.Err() != nil || n != 2 { // a (from both), d
		t.Fatalf("partial: %d groups, err %v", n, partial.Err())
	}
	w := partial.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Error(), "europe/p-0") || !strings.Contains(w[0].Error(), "partial response") {
		t.Fatalf("partial warnings: %v", w)
	}
}

func TestMergerRejectsUnsortedStream(t *testing.T) {
	src := &listSource{series: []*store.Series{ser("b", 1), ser("a", 2)}}
	m := newMerger([]seriesSource{src}, []string{"s"}, false)
	for m.Next() {
	}
	if err := m.Err(); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("got %v", err)
	}
	if !src.closed {
		t.Fatal("failed source not closed")
	}
}
