package dedup

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

var lsetA = labels.FromStrings("__name__", "up", "job", "a")

// mergeOne runs a single group of replicas through NewSeriesSet and returns
// the merged series, failing unless exactly one series comes out.
func mergeOne(t *testing.T, fn string, algo Algorithm, reps ...[]sample) storage.Series {
	t.Helper()
	set := NewSeriesSet(newTestSet(replicas(lsetA, reps...)...), fn, algo)
	if !set.Next() {
		t.Fatalf("no series: %v", set.Err())
	}
	s := set.At()
	if set.Next() {
		t.Fatalf("more than one series")
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	if !labels.Equal(s.Labels(), lsetA) {
		t.Fatalf("labels: got %s", s.Labels())
	}
	return s
}

// Timestamps are milliseconds. Replicas scrape every 10s unless noted, so
// after the first pick the held-back replica trails by 2*10s = 20s; before
// any interval is known it trails by 5s.
func TestPenalty(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   string
		reps [][]sample
		want []sample
	}{
		{
			// Lockstep scrapes: ties go to the first replica, and the second
			// is always held back, so only the first one is ever read.
			name: "identical samples",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3),
				f(10000, 1, 20000, 2, 30000, 3),
			},
			want: f(10000, 1, 20000, 2, 30000, 3),
		},
		{
			// Same timestamps, different values: still the first replica's.
			name: "equal timestamps, first replica wins",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3),
				f(10000, 7, 20000, 8, 30000, 9),
			},
			want: f(10000, 1, 20000, 2, 30000, 3),
		},
		{
			// a misses 40000..60000. After 30000 a resumes at 70000 while b
			// may be read from 30000+1+20000 = 50001, so b's 50500 wins and
			// b's 40500 is never seen. a is then held back until
			// 50500+1+2*(50500-30000) = 91501, beyond its last sample, so b
			// is followed to the end.
			name: "gap in one replica",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 70000, 7, 80000, 8),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
			},
			want: f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
		},
		{
			// A single missed scrape (30000) is within the 2x window: b is
			// held back to 40001, a's 40000 comes first, no switch.
			name: "single missed scrape does not switch",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 40000, 4, 50000, 5),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105),
			},
			want: f(10000, 1, 20000, 2, 40000, 4, 50000, 5),
		},
		{
			// a stops after 30000 and resumes at 90000; b has a hole of its
			// own after 20500 and after 70500. Switch to b at 50500 (a held
			// back to 91501, so a's 90000 is lost), then b's next sample
			// 120500 is later than a's 100000 and a takes over again.
			name: "gaps in both replicas",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 90000, 9, 100000, 10, 110000, 11),
				f(10500, 101, 20500, 102, 50500, 105, 60500, 106, 70500, 107, 120500, 112),
			},
			want: f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 100000, 10, 110000, 11),
		},
		{
			// b scrapes 100ms before a: b's first sample is earlier, so b is
			// picked and a is held back; a never catches up.
			name: "skewed timestamps, second replica earlier",
			reps: [][]sample{
				f(10100, 1, 20100, 2, 30100, 3),
				f(10000, 11, 20000, 12, 30000, 13),
			},
			want: f(10000, 11, 20000, 12, 30000, 13),
		},
		{
			// A group of one is passed through as is, even for counters.
			name: "one replica only",
			fn:   "rate",
			reps: [][]sample{f(10000, 5, 20000, 1, 30000, 2)},
			want: f(10000, 5, 20000, 1, 30000, 2),
		},
		{
			// Merged as pen(pen(r0, r1), r2). The inner side follows r0 to
			// 30000; then r2's 50200 beats r1's 60000 and holds the inner
			// side back to 50201+2*(50200-30000) = 90601, past all of r1, so
			// r1 is never read and r2 (minus 40200, in its own penalty) is
			// followed to the end.
			name: "three replicas",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3),
				f(60000, 16, 70000, 17, 80000, 18),
				f(10200, 201, 20200, 202, 30200, 203, 40200, 204, 50200, 205, 60200, 206, 70200, 207, 80200, 208, 90200, 209, 100200, 210),
			},
			want: f(10000, 1, 20000, 2, 30000, 3, 50200, 205, 60200, 206, 70200, 207, 80200, 208, 90200, 209, 100200, 210),
		},
		{
			// Same path as "gap in one replica": switch to b at 50500. With a
			// counter hint the switch lifts b to the last emitted 30 (offset
			// +2 kept for the rest of b), so rate sees no fake reset. At
			// 100000 the switch back to a needs no lift: 105 > 50.
			name: "counter reset across switch, counter hint",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 10, 20000, 20, 30000, 30, 90000, 95, 100000, 105),
				f(10500, 5, 20500, 15, 30500, 25, 40500, 27, 50500, 28, 60500, 38, 70500, 48),
			},
			want: f(10000, 10, 20000, 20, 30000, 30, 50500, 30, 60500, 40, 70500, 50, 100000, 105),
		},
		{
			// Same data without a counter hint: raw values, 30 -> 28 drop.
			name: "counter reset across switch, no hint",
			reps: [][]sample{
				f(10000, 10, 20000, 20, 30000, 30, 90000, 95, 100000, 105),
				f(10500, 5, 20500, 15, 30500, 25, 40500, 27, 50500, 28, 60500, 38, 70500, 48),
			},
			want: f(10000, 10, 20000, 20, 30000, 30, 50500, 28, 60500, 38, 70500, 48, 100000, 105),
		},
		{
			// delta is not in Thanos's counter list, so nothing is lifted.
			name: "delta hint is not counter-aware",
			fn:   "delta",
			reps: [][]sample{
				f(10000, 10, 20000, 20, 30000, 30, 90000, 95, 100000, 105),
				f(10500, 5, 20500, 15, 30500, 25, 40500, 27, 50500, 28, 60500, 38, 70500, 48),
			},
			want: f(10000, 10, 20000, 20, 30000, 30, 50500, 28, 60500, 38, 70500, 48, 100000, 105),
		},
		{
			// Before the first pick the merge counts as being on a's first
			// sample (100). Picking b's earlier 95 is a switch, so b is
			// lifted by 5 from its very first sample on.
			name: "counter hint, second replica earlier",
			fn:   "irate",
			reps: [][]sample{
				f(10100, 100, 20100, 110),
				f(10000, 95, 20000, 105, 30000, 115),
			},
			want: f(10000, 100, 20000, 110, 30000, 120),
		},
		{
			// b's penalty (to 40001) skips its histograms; when a ends the
			// switch lifts b's float 3 to a's last float 20. Histograms are
			// never lifted, and a float after them still is.
			name: "counter hint, mixed floats and histograms",
			fn:   "increase",
			reps: [][]sample{
				f(10000, 10, 20000, 20),
				{{t: 10500, f: 5}, hist(20500, 7, histogram.NotCounterReset), hist(30500, 8, histogram.NotCounterReset), {t: 40500, f: 3}},
			},
			want: f(10000, 10, 20000, 20, 40500, 20),
		},
		{
			// Same path as "gap in one replica", with histograms: b's counts
			// are far below a's, yet nothing is adjusted and the reset hints
			// pass through unchanged.
			name: "histograms",
			fn:   "rate",
			reps: [][]sample{
				{hist(10000, 10, histogram.UnknownCounterReset), hist(20000, 20, histogram.NotCounterReset), hist(30000, 30, histogram.NotCounterReset), hist(70000, 70, histogram.NotCounterReset), hist(80000, 80, histogram.NotCounterReset)},
				{hist(10500, 1, histogram.UnknownCounterReset), hist(20500, 2, histogram.NotCounterReset), hist(30500, 3, histogram.NotCounterReset), hist(40500, 4, histogram.NotCounterReset), hist(50500, 5, histogram.CounterReset), hist(60500, 6, histogram.NotCounterReset), hist(70500, 7, histogram.NotCounterReset), hist(80500, 8, histogram.NotCounterReset)},
			},
			want: []sample{hist(10000, 10, histogram.UnknownCounterReset), hist(20000, 20, histogram.NotCounterReset), hist(30000, 30, histogram.NotCounterReset), hist(50500, 5, histogram.CounterReset), hist(60500, 6, histogram.NotCounterReset), hist(70500, 7, histogram.NotCounterReset), hist(80500, 8, histogram.NotCounterReset)},
		},
		{
			name: "float histograms",
			fn:   "rate",
			reps: [][]sample{
				{fhist(10000, 10, histogram.UnknownCounterReset), fhist(20000, 20, histogram.NotCounterReset), fhist(30000, 30, histogram.NotCounterReset), fhist(70000, 70, histogram.NotCounterReset), fhist(80000, 80, histogram.NotCounterReset)},
				{fhist(10500, 1, histogram.UnknownCounterReset), fhist(20500, 2, histogram.NotCounterReset), fhist(30500, 3, histogram.NotCounterReset), fhist(40500, 4, histogram.NotCounterReset), fhist(50500, 5, histogram.GaugeType), fhist(60500, 6, histogram.NotCounterReset), fhist(70500, 7, histogram.NotCounterReset), fhist(80500, 8, histogram.NotCounterReset)},
			},
			want: []sample{fhist(10000, 10, histogram.UnknownCounterReset), fhist(20000, 20, histogram.NotCounterReset), fhist(30000, 30, histogram.NotCounterReset), fhist(50500, 5, histogram.GaugeType), fhist(60500, 6, histogram.NotCounterReset), fhist(70500, 7, histogram.NotCounterReset), fhist(80500, 8, histogram.NotCounterReset)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mergeOne(t, tc.fn, Penalty, tc.reps...)
			requireSamples(t, tc.want, collect(t, s.Iterator(nil)))
			// Each Iterator call starts afresh, offsets included.
			requireSamples(t, tc.want, collect(t, s.Iterator(nil)))
		})
	}
}

func TestPenaltySeek(t *testing.T) {
	gap := [][]sample{
		f(10000, 1, 20000, 2, 30000, 3, 70000, 7, 80000, 8),
		f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
	}
	skew := [][]sample{
		f(10100, 1, 20100, 2, 30100, 3),
		f(10000, 11, 20000, 12, 30000, 13),
	}
	for _, tc := range []struct {
		name  string
		reps  [][]sample
		seeks []int64
		// at is the sample after the last seek, nil if it returned ValNone;
		// rest is what Next yields afterwards.
		at   *sample
		rest []sample
	}{
		{
			// Seek replays the picks (10000, 20000) and stops at 30000.
			name: "into the middle", reps: gap, seeks: []int64{25000},
			at: &sample{t: 30000, f: 3}, rest: f(50500, 105, 60500, 106, 70500, 107, 80500, 108),
		},
		{
			name: "exact timestamp", reps: gap, seeks: []int64{30000},
			at: &sample{t: 30000, f: 3}, rest: f(50500, 105, 60500, 106, 70500, 107, 80500, 108),
		},
		{
			// Into the stretch served by b: same answer as plain iteration,
			// 40500 stays skipped.
			name: "into the other replica", reps: gap, seeks: []int64{41000},
			at: &sample{t: 50500, f: 105}, rest: f(60500, 106, 70500, 107, 80500, 108),
		},
		{
			name: "backwards is a no-op", reps: gap, seeks: []int64{55000, 20000},
			at: &sample{t: 60500, f: 106}, rest: f(70500, 107, 80500, 108),
		},
		{
			name: "past the end", reps: gap, seeks: []int64{90000},
		},
		{
			// Before any Next the position is the first replica's first
			// sample, so a seek at or before it returns that sample even
			// though b has an earlier one; the next Next makes the first
			// real pick, which is b's 10000, earlier than what Seek
			// returned. This mirrors Thanos, quirk included.
			name: "before the start, first replica later", reps: skew, seeks: []int64{5000},
			at: &sample{t: 10100, f: 1}, rest: f(10000, 11, 20000, 12, 30000, 13),
		},
		{
			// A target past a's first sample makes real picks: b's 10000
			// (a held back to 15001), then b's 20000, which satisfies it.
			name: "after the start, first replica later", reps: skew, seeks: []int64{15000},
			at: &sample{t: 20000, f: 12}, rest: f(30000, 13),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := mergeOne(t, "", Penalty, tc.reps...).Iterator(nil)
			var typ chunkenc.ValueType
			for _, ts := range tc.seeks {
				typ = it.Seek(ts)
			}
			if tc.at == nil {
				if typ != chunkenc.ValNone {
					t.Fatalf("seek: got %v, want ValNone", typ)
				}
				return
			}
			if typ != chunkenc.ValFloat {
				t.Fatalf("seek: got %v, want ValFloat", typ)
			}
			requireSamples(t, []sample{*tc.at}, []sample{at(it, typ)})
			requireSamples(t, tc.rest, collect(t, it))
		})
	}
}

func TestChain(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   string
		reps [][]sample
		want []sample
	}{
		{
			// Every timestamp of either replica appears once. For the shared
			// 10000, Prometheus's chain iterator (a heap) ends up with the
			// second input's sample here.
			name: "union of timestamps",
			reps: [][]sample{
				f(10000, 1, 30000, 3),
				f(10000, 100, 20000, 2, 40000, 4),
			},
			want: f(10000, 100, 20000, 2, 30000, 3, 40000, 4),
		},
		{
			// Unlike penalty, skewed replicas interleave: no penalty window.
			name: "skewed replicas interleave",
			reps: [][]sample{
				f(10000, 1, 20000, 2),
				f(10500, 11, 20500, 12),
			},
			want: f(10000, 1, 10500, 11, 20000, 2, 20500, 12),
		},
		{
			// No counter adjustment whatever the hint.
			name: "no counter adjustment",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 10, 20000, 20),
				f(30000, 5),
			},
			want: f(10000, 10, 20000, 20, 30000, 5),
		},
		{
			// The chain iterator marks a histogram's reset hint unknown
			// whenever the previous sample came from another input (and for
			// the very first sample); consecutive ones keep theirs.
			name: "histogram reset hints",
			reps: [][]sample{
				{hist(10000, 1, histogram.NotCounterReset), hist(20000, 2, histogram.NotCounterReset)},
				{hist(30000, 3, histogram.NotCounterReset), hist(40000, 4, histogram.NotCounterReset)},
			},
			want: []sample{hist(10000, 1, histogram.UnknownCounterReset), hist(20000, 2, histogram.NotCounterReset), hist(30000, 3, histogram.UnknownCounterReset), hist(40000, 4, histogram.NotCounterReset)},
		},
		{
			name: "one replica only",
			reps: [][]sample{f(10000, 1, 20000, 2)},
			want: f(10000, 1, 20000, 2),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mergeOne(t, tc.fn, Chain, tc.reps...)
			requireSamples(t, tc.want, collect(t, s.Iterator(nil)))
		})
	}
}

func TestSeriesSetGrouping(t *testing.T) {
	a := labels.FromStrings("job", "a")
	ax := labels.FromStrings("job", "a", "x", "1")
	b := labels.FromStrings("job", "b")
	in := newTestSet(
		testSeries{a, f(10000, 1, 20000, 2)},
		testSeries{a, f(40000, 4, 50000, 5)},
		testSeries{ax, f(10000, 9)},
		testSeries{b, f(10000, 1)},
		testSeries{b, f(10000, 1)},
		testSeries{b, f(10000, 1)},
		// Not adjacent to the first run of job=a, so it stays separate.
		testSeries{a, f(60000, 6)},
	)
	set := NewSeriesSet(in, "", Penalty)
	var got []storage.Series
	for set.Next() {
		got = append(got, set.At())
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		lset    labels.Labels
		samples []sample
	}{
		// Disjoint job=a replicas: after 20000 the second is held back to
		// 20001+2*10000 = 40001, and that penalty still applies once the
		// first runs out, so 40000 is dropped.
		{a, f(10000, 1, 20000, 2, 50000, 5)},
		{ax, f(10000, 9)},
		{b, f(10000, 1)},
		{a, f(60000, 6)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d", len(got), len(want))
	}
	// Iterating only now also checks that series stay valid after Next.
	for i, w := range want {
		if !labels.Equal(got[i].Labels(), w.lset) {
			t.Fatalf("series %d: labels %s, want %s", i, got[i].Labels(), w.lset)
		}
		requireSamples(t, w.samples, collect(t, got[i].Iterator(nil)))
	}
}

func TestSeriesSetPassesThroughWarningsAndErr(t *testing.T) {
	var warns annotations.Annotations
	warns.Add(errors.New("partial response"))
	in := newTestSet(
		testSeries{labels.FromStrings("job", "a"), f(10000, 1)},
		testSeries{labels.FromStrings("job", "a"), f(10000, 1)},
		testSeries{labels.FromStrings("job", "b"), f(10000, 2)},
	)
	in.err, in.warns = errTest, warns

	for _, algo := range Algorithms() {
		in.i = -1
		set := NewSeriesSet(in, "rate", algo)
		if len(set.Warnings()) != 1 {
			t.Fatalf("%s: warnings before iteration: %v", algo, set.Warnings())
		}
		// The groups read before the failure are still delivered.
		n := 0
		for set.Next() {
			n++
		}
		if n != 2 {
			t.Fatalf("%s: got %d series, want 2", algo, n)
		}
		if !errors.Is(set.Err(), errTest) {
			t.Fatalf("%s: err = %v", algo, set.Err())
		}
		if _, ok := set.Warnings()["partial response"]; !ok || len(set.Warnings()) != 1 {
			t.Fatalf("%s: warnings = %v", algo, set.Warnings())
		}
	}
}

func TestSeriesSetIteratorErr(t *testing.T) {
	bad := &sliceIter{s: f(10000, 1), i: -1, err: errTest}
	s := mergeOne(t, "", Penalty, f(10000, 1, 20000, 2))
	it := newPenaltyIterator(s.Iterator(nil), bad, false)
	for it.Next() != chunkenc.ValNone {
	}
	if !errors.Is(it.Err(), errTest) {
		t.Fatalf("err = %v", it.Err())
	}
}

func TestSeriesSetEmpty(t *testing.T) {
	for _, algo := range Algorithms() {
		set := NewSeriesSet(newTestSet(), "", algo)
		if set.Next() || set.Next() {
			t.Fatalf("%s: empty input produced a series", algo)
		}
		if set.Err() != nil || len(set.Warnings()) != 0 {
			t.Fatalf("%s: err %v, warnings %v", algo, set.Err(), set.Warnings())
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Algorithm
		ok   bool
	}{
		{"penalty", Penalty, true},
		{"chain", Chain, true},
		{"", "", false},
		{"Penalty", "", false},
		{"compact", "", false},
	} {
		got, err := ParseAlgorithm(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Fatalf("ParseAlgorithm(%q) = %q, %v", tc.in, got, err)
		}
	}
	_, err := ParseAlgorithm("x")
	if want := `unknown deduplication algorithm "x": valid values are "penalty", "chain" and "gapfill"`; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestCounterFuncLists(t *testing.T) {
	for fn, want := range map[string][2]bool{
		"rate": {true, true}, "increase": {true, true}, "irate": {true, true}, "resets": {true, true},
		"xrate": {false, true}, "xincrease": {false, true},
		"delta": {false, false}, "idelta": {false, false}, "deriv": {false, false},
		"sum": {false, false}, "": {false, false}, "rate_over_time": {false, false},
	} {
		if got := [2]bool{IsCounterFunc(fn), AppliesCounterResets(fn)}; got != want {
			t.Errorf("%q: got %v, want %v", fn, got, want)
		}
	}
}

// BenchmarkPenalty merges two replicas of 100k samples each, scraped every
// 15s with 1.2s of skew, through the public API.
func BenchmarkPenalty(b *testing.B) { benchmarkMerge(b, Penalty) }

// benchmarkMerge merges BenchmarkPenalty's input with algo, plain and as for rate().
func benchmarkMerge(b *testing.B, algo Algorithm) {
	const n = 100_000
	ra, rb := make([]sample, n), make([]sample, n)
	for i := range n {
		ra[i] = sample{t: int64(i) * 15000, f: float64(i)}
		rb[i] = sample{t: int64(i)*15000 + 1200, f: float64(i)}
	}
	for _, fn := range []string{"", "rate"} {
		name := "plain"
		if fn != "" {
			name = "counter"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set := NewSeriesSet(newTestSet(replicas(lsetA, ra, rb)...), fn, algo)
				for set.Next() {
					it := set.At().Iterator(nil)
					got := 0
					for it.Next() != chunkenc.ValNone {
						it.At()
						got++
					}
					if got != n {
						b.Fatalf("got %d samples, want %d", got, n)
					}
				}
			}
		})
	}
}
