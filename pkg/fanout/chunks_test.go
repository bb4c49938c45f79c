package fanout

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

type sample struct {
	t int64
	v float64
}

func drain(t *testing.T, it chunkenc.Iterator) []sample {
	t.Helper()
	var out []sample
	for it.Next() == chunkenc.ValFloat {
		ts, v := it.At()
		out = append(out, sample{ts, v})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The engine hands each series the iterator of the one before; reading through a reused
// iterator must give what a fresh one gives, whatever the chunk counts of the two series, and a
// series that follows a longer one must not see the longer one's chunks.
func TestChunkSeriesIteratorReuse(t *testing.T) {
	sel := &selectParams{mint: 0, maxt: math.MaxInt64}
	rateSel := &selectParams{fn: "rate", mint: 0, maxt: math.MaxInt64}
	series := []*chunkSeries{
		{lset: labels.FromStrings("s", "3"), sel: sel, chunks: []store.Chunk{counterChunk(t, 0, 600, 0), counterChunk(t, 630, 1200, 0), counterChunk(t, 1230, 1800, 0)}},
		{lset: labels.FromStrings("s", "1"), sel: sel, chunks: []store.Chunk{counterChunk(t, 0, 300, 7)}},
		// A reset between the chunks: rate's lane turns it into a running total.
		{lset: labels.FromStrings("s", "reset"), sel: rateSel, chunks: []store.Chunk{counterChunk(t, 0, 300, 1000), counterChunk(t, 330, 600, 0)}},
		{lset: labels.FromStrings("s", "2"), sel: sel, chunks: []store.Chunk{counterChunk(t, 0, 300, 0), counterChunk(t, 330, 600, 5)}},
		{lset: labels.FromStrings("s", "none"), sel: sel},
	}
	var prev chunkenc.Iterator
	reused := 0
	for _, s := range series {
		want := drain(t, s.Iterator(nil))
		it := s.Iterator(prev)
		if it == prev {
			reused++
		}
		got := drain(t, it)
		if len(got) != len(want) {
			t.Fatalf("series %s: %d samples through a reused iterator, %d through a fresh one", s.lset, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("series %s, sample %d: %v reused, %v fresh", s.lset, i, got[i], want[i])
			}
		}
		prev = it
	}
	if reused != 3 {
		t.Fatalf("%d of the 3 series after a chunk series reused its iterator", reused)
	}
}
