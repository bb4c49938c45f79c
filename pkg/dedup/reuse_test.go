package dedup

import (
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// The engine hands each series the iterator of the one before. A merge read through the previous
// series' iterator must give what a fresh one gives, whatever the replica counts of the two
// series, with and without counter adjustment, for penalty and gapfill.
func TestMergeIteratorReuse(t *testing.T) {
	// Times in seconds; replica switches need gaps longer than twice the scrape interval.
	sec := func(tv ...float64) []sample {
		for i := 0; i < len(tv); i += 2 {
			tv[i] *= 1000
		}
		return f(tv...)
	}
	var in []storage.Series
	// a switches to its second replica at 60 s, below the first: a counter offset for that slot.
	in = append(in, replicas(labels.FromStrings("s", "a"),
		sec(0, 1, 10, 2, 20, 3, 30, 4, 100, 5, 110, 6),
		sec(5, 0.5, 15, 0.6, 25, 0.7, 60, 0.8, 70, 0.9, 80, 1, 90, 1.1))...)
	in = append(in, replicas(labels.FromStrings("s", "b"),
		sec(0, 7, 10, 8),
		sec(1, 100, 11, 101, 21, 102, 31, 103),
		sec(2, 50, 40, 51, 80, 52, 120, 53))...)
	in = append(in, replicas(labels.FromStrings("s", "c"),
		sec(0, 3, 10, 2, 20, 1),
		sec(3, 30, 13, 20, 23, 10, 90, 11))...)
	for _, c := range []struct {
		algo Algorithm
		fn   string
	}{{Penalty, "rate"}, {Penalty, ""}, {Gapfill, "rate"}, {Gapfill, ""}} {
		fn := c.fn
		set := NewSeriesSet(newTestSet(in...), fn, c.algo)
		var prev chunkenc.Iterator
		n, reused := 0, 0
		for set.Next() {
			s := set.At()
			want := collect(t, s.Iterator(nil))
			it := s.Iterator(prev)
			if it == prev {
				reused++
			}
			if got := collect(t, it); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, fn %q, series %s: %v through the previous series' iterator, %v through a fresh one", c.algo, fn, s.Labels(), got, want)
			}
			prev = it
			n++
		}
		if n != 3 || reused != 2 {
			t.Fatalf("%s, fn %q: %d series, %d reused an iterator", c.algo, fn, n, reused)
		}
	}
}
