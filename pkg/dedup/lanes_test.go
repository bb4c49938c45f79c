package dedup

import (
	"math"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

type span struct {
	name       string
	mint, maxt int64
}

func spanOf(s span) (int64, int64) { return s.mint, s.maxt }

func TestSplitOverlapping(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []span
		want [][]string
	}{
		{name: "no chunks"},
		{
			name: "back to back",
			in:   []span{{"c0", 0, 9}, {"c1", 10, 19}, {"c2", 20, 29}},
			want: [][]string{{"c0", "c1", "c2"}},
		},
		{
			// c1 starts at c0's MaxTime; lanes need a strict gap.
			name: "touching chunks overlap",
			in:   []span{{"c0", 0, 10}, {"c1", 10, 20}},
			want: [][]string{{"c0"}, {"c1"}},
		},
		{
			// Two replicas that cut chunks at similar times.
			name: "two replicas",
			in:   []span{{"A1", 0, 119}, {"B1", 5, 124}, {"A2", 120, 239}, {"B2", 125, 244}},
			want: [][]string{{"A1", "A2"}, {"B1", "B2"}},
		},
		{
			// B2 fits after A1 before A2 does, so lane 0 becomes A1,B2 and A2
			// lands in lane 1 after B1: lanes are not replicas.
			name: "lanes mix replicas",
			in:   []span{{"A1", 0, 100}, {"B1", 50, 150}, {"B2", 160, 250}, {"A2", 200, 300}},
			want: [][]string{{"A1", "B2"}, {"B1", "A2"}},
		},
		{
			// The first lane with room wins, even if a later lane ended earlier.
			name: "first fitting lane",
			in:   []span{{"c0", 0, 100}, {"c1", 0, 50}, {"c2", 0, 100}, {"c3", 101, 200}, {"c4", 120, 130}},
			want: [][]string{{"c0", "c3"}, {"c1", "c4"}, {"c2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]string
			for _, lane := range SplitOverlapping(tc.in, spanOf) {
				var names []string
				for _, c := range lane {
					names = append(names, c.name)
				}
				got = append(got, names)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func chunkIters(chunks ...[]sample) []chunkenc.Iterator {
	its := make([]chunkenc.Iterator, len(chunks))
	for i, c := range chunks {
		its[i] = newSliceIter(c)
	}
	return its
}

func TestLaneIterator(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name       string
		fn         string
		chunks     [][]sample
		mint, maxt int64
		want       []sample
	}{
		{
			// The second chunk repeats 30; only samples after the last one
			// read are taken from it.
			name:   "concatenation",
			chunks: [][]sample{f(10, 1, 20, 2, 30, 3), f(30, 9, 40, 4)},
			mint:   math.MinInt64, maxt: math.MaxInt64,
			want: f(10, 1, 20, 2, 30, 3, 40, 4),
		},
		{
			name:   "bounded",
			chunks: [][]sample{f(10, 1, 20, 2), f(30, 3, 40, 4)},
			mint:   15, maxt: 35,
			want: f(20, 2, 30, 3),
		},
		{
			// Drops add the new value on top (30: 8+2), the stale marker is
			// removed, and the total carries on (50: 10+(4-2)).
			name:   "counter total",
			fn:     "rate",
			chunks: [][]sample{f(10, 5, 20, 8, 30, 2, 40, nan, 50, 4)},
			mint:   math.MinInt64, maxt: math.MaxInt64,
			want: f(10, 5, 20, 8, 30, 10, 50, 12),
		},
		{
			// The repeated 20 replaces the previous raw value (8 -> 1)
			// without emitting, so 30 continues from 1: 8+(3-1) = 10.
			name:   "counter total across chunks",
			fn:     "increase",
			chunks: [][]sample{f(10, 5, 20, 8), f(20, 1, 30, 3)},
			mint:   math.MinInt64, maxt: math.MaxInt64,
			want: f(10, 5, 20, 8, 30, 10),
		},
		{
			// Samples before mint still feed the total: the reset at 20 is
			// counted although only 30 and later are emitted (7+3+1).
			name:   "counter total bounded",
			fn:     "rate",
			chunks: [][]sample{f(10, 7, 20, 3, 30, 4, 40, 6)},
			mint:   25, maxt: 100,
			want: f(30, 11, 40, 13),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := NewLaneIterator(chunkIters(tc.chunks...), tc.fn, tc.mint, tc.maxt)
			requireSamples(t, tc.want, collect(t, it))
		})
	}
}

func TestLaneIteratorSeek(t *testing.T) {
	it := NewLaneIterator(chunkIters(f(10, 1, 20, 2), f(30, 3, 40, 4)), "", 15, 35)
	// Clamped to mint.
	if typ := it.Seek(0); typ != chunkenc.ValFloat || it.AtT() != 20 {
		t.Fatalf("Seek(0): %v at %d", typ, it.AtT())
	}
	// Seek checks only its target against maxt, not where it lands.
	if typ := it.Seek(31); typ != chunkenc.ValFloat || it.AtT() != 40 {
		t.Fatalf("Seek(31): %v at %d", typ, it.AtT())
	}
	if typ := it.Seek(36); typ != chunkenc.ValNone {
		t.Fatalf("Seek(36): %v", typ)
	}
}

func TestLaneIteratorEmpty(t *testing.T) {
	if it := NewLaneIterator(nil, "", 0, 100); it.Next() != chunkenc.ValNone || it.Err() == nil {
		t.Fatal("empty plain lane must fail")
	}
	if it := NewLaneIterator(nil, "rate", 0, 100); it.Next() != chunkenc.ValNone || it.Err() != nil {
		t.Fatal("empty counter lane must be empty without error")
	}
}

type xorSpan struct {
	mint, maxt int64
	chunk      chunkenc.Chunk
}

func xorChunk(s []sample) xorSpan {
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		panic(err)
	}
	for _, x := range s {
		app.Append(0, x.t, x.f)
	}
	return xorSpan{s[0].t, s[len(s)-1].t, c}
}

type laneSeries struct {
	lset  labels.Labels
	lane  []xorSpan
	fn    string
	bound int64
}

func (s laneSeries) Labels() labels.Labels { return s.lset }
func (s laneSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	its := make([]chunkenc.Iterator, len(s.lane))
	for i, c := range s.lane {
		its[i] = c.chunk.Iterator(nil)
	}
	return NewLaneIterator(its, s.fn, 0, s.bound)
}

// Replica A's chunks A1, A2 and replica B's chunks B1, B2 on real XOR
// chunks, in proxy order. The lanes come out as [A1 B2] and [B1 A2].
func TestLanesIntoPenalty(t *testing.T) {
	a1 := xorChunk(f(0, 0, 50000, 5, 100000, 10))
	b1 := xorChunk(f(55000, 100, 105000, 101, 150000, 102))
	b2 := xorChunk(f(160000, 103, 205000, 104, 250000, 105))
	a2 := xorChunk(f(200000, 20, 250000, 25, 300000, 30))

	merge := func(lanes [][]xorSpan) []sample {
		var in []storage.Series
		for _, l := range lanes {
			in = append(in, laneSeries{lset: lsetA, lane: l, bound: 1e9})
		}
		set := NewSeriesSet(newTestSet(in...), "", Penalty)
		if !set.Next() {
			t.Fatal("no series")
		}
		return collect(t, set.At().Iterator(nil))
	}

	// Lane 0 is followed throughout: lane 1 is held back (to 5001, then
	// 150001, 200001, 280001, 295001 and 340001) and never gets a turn, so
	// A2's 300000 is lost. Values jump from
	// replica A's 10 to replica B's 103 inside lane 0.
	lanes := SplitOverlapping([]xorSpan{a1, b1, b2, a2}, func(c xorSpan) (int64, int64) { return c.mint, c.maxt })
	requireSamples(t, f(0, 0, 50000, 5, 100000, 10, 160000, 103, 205000, 104, 250000, 105), merge(lanes))

	// Feeding per-replica series instead gives another answer (all of
	// A), which is why the merge stage has to build lanes.
	requireSamples(t, f(0, 0, 50000, 5, 100000, 10, 200000, 20, 250000, 25, 300000, 30), merge([][]xorSpan{{a1, a2}, {b1, b2}}))
}
