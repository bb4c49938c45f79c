package fanout

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// counterChunk is one XOR chunk of a counter scraped every 30 s from first to last (seconds),
// reading t+level at time t: replicas that started counting at different times differ by level.
func counterChunk(t *testing.T, first, last, level int64) store.Chunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for s := first; s <= last; s += 30 {
		app.Append(0, s*1000, float64(s+level))
	}
	return store.Chunk{MinTime: first * 1000, MaxTime: last * 1000, Encoding: store.EncodingXOR, Data: c.Bytes()}
}

// Replica a misses scrapes from 1800 s to 5000 s; replica b, 10 s later in each interval, has
// counted 500 more since it started earlier. The Querier's lanes join a's first chunk to b's
// second and b's first to a's second, so each lane changes replica in the middle. gapfill must
// read each store on its own: then its answer is the counter without jumps, t at time t,
// wherever it follows a or b.
func TestGapfillReadsEachStoreOnItsOwn(t *testing.T) {
	a := &store.Series{Labels: labels.FromStrings("__name__", "jobs_total"),
		Chunks: []store.Chunk{counterChunk(t, 0, 1800, 0), counterChunk(t, 5010, 7200, 0)}}
	b := &store.Series{Labels: labels.FromStrings("__name__", "jobs_total"),
		Chunks: []store.Chunk{counterChunk(t, 10, 3010, 500), counterChunk(t, 3040, 7210, 500)}}
	lanes := dedup.SplitOverlapping(mergeChunks([][]store.Chunk{a.Chunks, b.Chunks}), chunkSpan)
	if len(lanes) != 2 || lanes[0][1].MinTime != 3040_000 {
		t.Fatalf("the data no longer makes the Querier's lanes mix replicas: %v", lanes)
	}

	for _, fn := range []string{"rate", ""} {
		m := newMerger([]seriesSource{&listSource{series: []*store.Series{a}}, &listSource{series: []*store.Series{b}}},
			[]string{"a", "b"}, false)
		groups := &groupSet{m: m, sel: &selectParams{fn: fn, mint: 0, maxt: math.MaxInt64}, lanes: true, algo: dedup.Gapfill}
		set := dedup.NewSeriesSet(groups, fn, dedup.Gapfill)
		if !set.Next() {
			t.Fatalf("fn %q: no series: %v", fn, set.Err())
		}
		it := set.At().Iterator(nil)
		n, lastT := 0, int64(-1)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			if ts <= lastT {
				t.Fatalf("fn %q: sample at %d after %d", fn, ts, lastT)
			}
			if want := float64(ts / 1000); fn == "rate" && math.Abs(v-want) > 1e-9 {
				t.Fatalf("fn %q: value %g at %d s, want %g (a counter jump where the merge changes replica)", fn, v, ts/1000, want)
			}
			lastT = ts
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		// 61 samples of a up to 1800 s, then b's every 30 s up to 7210 s.
		if lastT != 7210_000 || n < 230 {
			t.Fatalf("fn %q: %d samples up to %d ms", fn, n, lastT)
		}
		if set.Next() {
			t.Fatalf("fn %q: a second series", fn)
		}
	}
}
