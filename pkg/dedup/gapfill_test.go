package dedup

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

func TestParseGapfill(t *testing.T) {
	got, err := ParseAlgorithm("gapfill")
	if err != nil || got != Gapfill {
		t.Fatalf("ParseAlgorithm(gapfill) = %q, %v", got, err)
	}
	if algos := Algorithms(); algos[0] != Penalty || algos[len(algos)-1] != Gapfill {
		t.Fatalf("Algorithms() = %v", algos)
	}
	_, err = ParseAlgorithm("Gapfill")
	if err == nil || !strings.Contains(err.Error(), `"gapfill"`) {
		t.Fatalf("error %v should name gapfill", err)
	}
}

// sideBySide renders two answers as columns by timestamp, for the test log.
func sideBySide(names [2]string, a, b []sample) string {
	var out strings.Builder
	fmt.Fprintf(&out, "%8s  %-12s %-12s\n", "t", names[0], names[1])
	i, j := 0, 0
	cell := func(s sample) string {
		if s.typ() != chunkenc.ValFloat {
			return s.String()
		}
		return fmt.Sprintf("%g", s.f)
	}
	for i < len(a) || j < len(b) {
		var ts int64
		switch {
		case j >= len(b) || (i < len(a) && a[i].t <= b[j].t):
			ts = a[i].t
		default:
			ts = b[j].t
		}
		ca, cb := "-", "-"
		if i < len(a) && a[i].t == ts {
			ca = cell(a[i])
			i++
		}
		if j < len(b) && b[j].t == ts {
			cb = cell(b[j])
			j++
		}
		fmt.Fprintf(&out, "%8d  %-12s %-12s\n", ts, ca, cb)
	}
	return out.String()
}

// Timestamps are milliseconds; replicas scrape every 10s unless noted. Each
// case states penalty's answer as well, so the table shows where the two
// differ and why.
func TestGapfill(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fn      string
		reps    [][]sample
		want    []sample
		penalty []sample
	}{
		{
			// a misses 30000. Its next sample, 40000, is 20s after 20000,
			// more than 1.5 intervals, so b's 30500 fills the hole and b is
			// followed from then on. Penalty holds b back to 40001 and a's
			// 40000 comes first: the hole stays.
			name: "single missed scrape is filled",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 40000, 4, 50000, 5),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105),
			},
			want:    f(10000, 1, 20000, 2, 30500, 103, 40500, 104, 50500, 105),
			penalty: f(10000, 1, 20000, 2, 40000, 4, 50000, 5),
		},
		{
			// a misses 30000 and 40000. Penalty switches only once b's
			// sample is more than 2 intervals after 20000, so 30500 is lost.
			name: "two missed scrapes are filled",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 50000, 5, 60000, 6),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105, 60500, 106),
			},
			want:    f(10000, 1, 20000, 2, 30500, 103, 40500, 104, 50500, 105, 60500, 106),
			penalty: f(10000, 1, 20000, 2, 40500, 104, 50500, 105, 60500, 106),
		},
		{
			// A long gap: both switch, gapfill one interval earlier.
			name: "long gap",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 70000, 7, 80000, 8),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
			},
			want:    f(10000, 1, 20000, 2, 30000, 3, 40500, 104, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
			penalty: f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 80500, 108),
		},
		{
			// Each replica fills the other's gap: a from 90000 (b is late
			// after 70500), b again at 120500 once a has run out. Penalty
			// loses 40500, 90000 and 120500.
			name: "gaps in both replicas",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 90000, 9, 100000, 10, 110000, 11),
				f(10500, 101, 20500, 102, 50500, 105, 60500, 106, 70500, 107, 120500, 112),
			},
			want:    f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 90000, 9, 100000, 10, 110000, 11, 120500, 112),
			penalty: f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 100000, 10, 110000, 11),
		},
		{
			// Skewed replicas without gaps never interleave: the earliest
			// is followed throughout, as with penalty.
			name: "skewed replicas stay apart",
			reps: [][]sample{
				f(10100, 1, 20100, 2, 30100, 3, 40100, 4),
				f(10000, 11, 20000, 12, 30000, 13, 40000, 14),
			},
			want:    f(10000, 11, 20000, 12, 30000, 13, 40000, 14),
			penalty: f(10000, 11, 20000, 12, 30000, 13, 40000, 14),
		},
		{
			// A scrape 4s late (14s after the previous one) is within 1.5
			// intervals: no switch.
			name: "jitter is not a gap",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 44000, 4, 50000, 5),
				f(10500, 101, 20500, 102, 30500, 103, 40500, 104, 50500, 105),
			},
			want:    f(10000, 1, 20000, 2, 30000, 3, 44000, 4, 50000, 5),
			penalty: f(10000, 1, 20000, 2, 30000, 3, 44000, 4, 50000, 5),
		},
		{
			// b's 20800 is closer than half an interval to a's 20000, so
			// when a runs out b is taken from 30800 on, not interleaved.
			name: "no samples closer than half an interval",
			reps: [][]sample{
				f(10000, 1, 20000, 2),
				f(10800, 101, 20800, 102, 30800, 103, 40800, 104),
			},
			want:    f(10000, 1, 20000, 2, 30800, 103, 40800, 104),
			penalty: f(10000, 1, 20000, 2, 40800, 104),
		},
		{
			name:    "one replica only",
			fn:      "rate",
			reps:    [][]sample{f(10000, 5, 20000, 1, 30000, 2)},
			want:    f(10000, 5, 20000, 1, 30000, 2),
			penalty: f(10000, 5, 20000, 1, 30000, 2),
		},
		{
			// r0 stops after 30000; r1 (earliest after it) fills 40200,
			// then misses 50200 and r2 fills 50400 and is kept to the end.
			// Penalty's nested merge loses 40200.
			name: "three replicas",
			reps: [][]sample{
				f(10000, 1, 20000, 2, 30000, 3, 80000, 8, 90000, 9, 100000, 10),
				f(10200, 101, 20200, 102, 30200, 103, 40200, 104, 90200, 109, 100200, 110),
				f(10400, 201, 20400, 202, 30400, 203, 40400, 204, 50400, 205, 60400, 206, 70400, 207, 80400, 208, 90400, 209, 100400, 210),
			},
			want:    f(10000, 1, 20000, 2, 30000, 3, 40200, 104, 50400, 205, 60400, 206, 70400, 207, 80400, 208, 90400, 209, 100400, 210),
			penalty: f(10000, 1, 20000, 2, 30000, 3, 50400, 205, 60400, 206, 70400, 207, 80400, 208, 90400, 209, 100400, 210),
		},
		{
			// b reads 1-2 below a (scrape skew in value). At the switch b's
			// reading at 30000 is interpolated between 20500 and 30500
			// (118.5) and b is lifted by 1.5 so that it reads 120 there:
			// no decrease, and only b's own increments after it.
			name: "counter, replica slightly behind",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 100, 20000, 110, 30000, 120, 70000, 160, 80000, 170),
				f(10500, 99, 20500, 109, 30500, 119, 40500, 129, 50500, 139, 60500, 149, 70500, 159, 80500, 169),
			},
			want:    f(10000, 100, 20000, 110, 30000, 120, 40500, 130.5, 50500, 140.5, 60500, 150.5, 70500, 160.5, 80500, 170.5),
			penalty: f(10000, 100, 20000, 110, 30000, 120, 50500, 139, 60500, 149, 70500, 159, 80500, 169),
		},
		{
			// The replica switched to reads 1000 higher (a counter total that
			// counted a reset the followed one did not). Penalty passes the
			// jump on (+1021 in 20.5s); gapfill offsets b by -1000.5 so that
			// it reads 1020 at 30000.
			name: "counter, replica far ahead",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 1000, 20000, 1010, 30000, 1020),
				f(10500, 2001, 20500, 2011, 30500, 2021, 40500, 2031, 50500, 2041),
			},
			want:    f(10000, 1000, 20000, 1010, 30000, 1020, 40500, 1030.5, 50500, 1040.5),
			penalty: f(10000, 1000, 20000, 1010, 30000, 1020, 50500, 2041),
		},
		{
			// Both replicas reset (b drops from 121 to 3 between its own
			// samples): the reset stays, as b recorded it. Penalty lifts b
			// to 120 and the increase of 3 is lost.
			name: "counter, true reset of both replicas",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 100, 20000, 110, 30000, 120, 80000, 53),
				f(10500, 101, 20500, 111, 30500, 121, 40500, 3, 50500, 13, 60500, 23, 70500, 33, 80500, 43),
			},
			want:    f(10000, 100, 20000, 110, 30000, 120, 40500, 3, 50500, 13, 60500, 23, 70500, 33, 80500, 43),
			penalty: f(10000, 100, 20000, 110, 30000, 120, 50500, 120, 60500, 130, 70500, 140, 80500, 150),
		},
		{
			// b has no reading before the switch; 2 is below half of 120,
			// a reset. Penalty holds b back to 50001 after 30000 and never
			// reads it.
			name: "counter, drop to near zero",
			fn:   "increase",
			reps: [][]sample{
				f(10000, 100, 20000, 110, 30000, 120),
				f(40000, 2, 50000, 12),
			},
			want:    f(10000, 100, 20000, 110, 30000, 120, 40000, 2, 50000, 12),
			penalty: f(10000, 100, 20000, 110, 30000, 120),
		},
		{
			// Same, but 117 is just behind 120: held at 120.
			name: "counter, small drop without an earlier reading",
			fn:   "increase",
			reps: [][]sample{
				f(10000, 100, 20000, 110, 30000, 120),
				f(40000, 117, 50000, 127),
			},
			want:    f(10000, 100, 20000, 110, 30000, 120, 40000, 120, 50000, 130),
			penalty: f(10000, 100, 20000, 110, 30000, 120),
		},
		{
			// 70 is above half of 120, but a's next value (5) shows that a
			// reset too: both replicas reset, b is taken as it is. When b
			// runs out, a's own drop from 120 to 5 is a reset as well.
			// Penalty skips b's 45000 and lifts 55000 to 120.
			name: "counter, both reset without an earlier reading",
			fn:   "rate",
			reps: [][]sample{
				f(10000, 100, 20000, 110, 30000, 120, 80000, 5),
				f(45000, 70, 55000, 80),
			},
			want:    f(10000, 100, 20000, 110, 30000, 120, 45000, 70, 55000, 80, 80000, 5),
			penalty: f(10000, 100, 20000, 110, 30000, 120, 55000, 120),
		},
		{
			// Without a counter hint values are never adjusted.
			name: "no hint, no adjustment",
			reps: [][]sample{
				f(10000, 1000, 20000, 1010, 30000, 1020),
				f(10500, 2001, 20500, 2011, 30500, 2021, 40500, 2031, 50500, 2041),
			},
			want:    f(10000, 1000, 20000, 1010, 30000, 1020, 40500, 2031, 50500, 2041),
			penalty: f(10000, 1000, 20000, 1010, 30000, 1020, 50500, 2041),
		},
		{
			// Histograms are filled like floats, never adjusted, hints
			// untouched: 40500 keeps NotCounterReset although its count is
			// far below a's 30, and 50500 keeps its CounterReset.
			name: "histograms",
			fn:   "rate",
			reps: [][]sample{
				{hist(10000, 10, histogram.UnknownCounterReset), hist(20000, 20, histogram.NotCounterReset), hist(30000, 30, histogram.NotCounterReset), hist(70000, 70, histogram.NotCounterReset), hist(80000, 80, histogram.NotCounterReset)},
				{hist(10500, 1, histogram.UnknownCounterReset), hist(20500, 2, histogram.NotCounterReset), hist(30500, 3, histogram.NotCounterReset), hist(40500, 4, histogram.NotCounterReset), hist(50500, 5, histogram.CounterReset), hist(60500, 6, histogram.NotCounterReset)},
			},
			want:    []sample{hist(10000, 10, histogram.UnknownCounterReset), hist(20000, 20, histogram.NotCounterReset), hist(30000, 30, histogram.NotCounterReset), hist(40500, 4, histogram.NotCounterReset), hist(50500, 5, histogram.CounterReset), hist(60500, 6, histogram.NotCounterReset), hist(70000, 70, histogram.NotCounterReset), hist(80000, 80, histogram.NotCounterReset)},
			penalty: []sample{hist(10000, 10, histogram.UnknownCounterReset), hist(20000, 20, histogram.NotCounterReset), hist(30000, 30, histogram.NotCounterReset), hist(50500, 5, histogram.CounterReset), hist(60500, 6, histogram.NotCounterReset)},
		},
		{
			name: "float histograms",
			fn:   "rate",
			reps: [][]sample{
				{fhist(10000, 10, histogram.UnknownCounterReset), fhist(20000, 20, histogram.NotCounterReset), fhist(30000, 30, histogram.NotCounterReset)},
				{fhist(10500, 1, histogram.UnknownCounterReset), fhist(20500, 2, histogram.NotCounterReset), fhist(30500, 3, histogram.NotCounterReset), fhist(40500, 4, histogram.GaugeType)},
			},
			want:    []sample{fhist(10000, 10, histogram.UnknownCounterReset), fhist(20000, 20, histogram.NotCounterReset), fhist(30000, 30, histogram.NotCounterReset), fhist(40500, 4, histogram.GaugeType)},
			penalty: []sample{fhist(10000, 10, histogram.UnknownCounterReset), fhist(20000, 20, histogram.NotCounterReset), fhist(30000, 30, histogram.NotCounterReset)},
		},
		{
			// A float after histograms is not lifted to the last float
			// before them: there is no float to continue from.
			name: "counter, floats after histograms",
			fn:   "increase",
			reps: [][]sample{
				{{t: 10000, f: 10}, hist(20000, 7, histogram.NotCounterReset)},
				{{t: 10500, f: 5}, hist(20500, 8, histogram.NotCounterReset), {t: 30500, f: 3}, {t: 40500, f: 4}},
			},
			want:    []sample{{t: 10000, f: 10}, hist(20000, 7, histogram.NotCounterReset), {t: 30500, f: 3}, {t: 40500, f: 4}},
			penalty: []sample{{t: 10000, f: 10}, hist(20000, 7, histogram.NotCounterReset), {t: 40500, f: 4}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pen := collect(t, mergeOne(t, tc.fn, Penalty, tc.reps...).Iterator(nil))
			s := mergeOne(t, tc.fn, Gapfill, tc.reps...)
			got := collect(t, s.Iterator(nil))
			t.Logf("\n%s", sideBySide([2]string{"penalty", "gapfill"}, pen, got))
			requireSamples(t, tc.penalty, pen)
			requireSamples(t, tc.want, got)
			// Each Iterator call starts afresh, offsets included.
			requireSamples(t, tc.want, collect(t, s.Iterator(nil)))
		})
	}
}

// increaseOver is what rate() sees between the first and the last sample in
// (from, to]: the sum of increments, a decrease counting as a reset to the
// new value. Extrapolation is left out; it only scales the answer.
func increaseOver(s []sample, from, to int64) (inc float64, n int) {
	var prev float64
	for _, x := range s {
		if x.t <= from || x.t > to {
			continue
		}
		if n > 0 {
			if x.f >= prev {
				inc += x.f - prev
			} else {
				inc += x.f
			}
		}
		prev = x.f
		n++
	}
	return inc, n
}

// rates evaluates increase per second over window at every step, as a range
// query of rate() would.
func rates(s []sample, window, step, start, end int64) []float64 {
	var out []float64
	for t := start; t <= end; t += step {
		inc, n := increaseOver(s, t-window, t)
		if n < 2 {
			out = append(out, math.NaN())
			continue
		}
		out = append(out, inc/float64(window/1000))
	}
	return out
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		if !math.IsNaN(x) {
			m = max(m, x)
		}
	}
	return m
}

// TestGapfillLaneFalseReset reproduces thanos-io/thanos#7623 end to end on
// real XOR chunks: replica b reads one below replica a (the counter as each
// scrape saw it), and a is down from 60s to 150s. The proxy's lanes become
// [A1 B2] and [B1 A2]; lane 0 goes from a's 1005 to b's 1004, which its
// counter total reads as a reset and adds 1004. Penalty follows lane 1 over
// a's gap and comes back to lane 0 at 120500 by the penalty window, bringing
// the false +1004 into rate(). Gapfill comes back to lane 0 at 80500, where
// lane 0 has no reading near 70500 (its own gap of 50000..80500 is where the
// false reset sits), so it holds the value instead of trusting the jump.
func TestGapfillLaneFalseReset(t *testing.T) {
	counter := func(t int64) float64 {
		switch {
		case t <= 50000:
			return 1000 + float64(t/10000)
		case t < 100000:
			return 1005
		}
		return 1005 + float64((t-100000)/10000)
	}
	scrapes := func(from, to, lag int64, behind float64) []sample {
		var s []sample
		for ts := from; ts <= to; ts += 10000 {
			s = append(s, sample{t: ts + lag, f: counter(ts+lag) - behind})
		}
		return s
	}
	a1, a2 := xorChunk(scrapes(0, 50000, 0, 0)), xorChunk(scrapes(160000, 250000, 0, 0))
	b1, b2 := xorChunk(scrapes(0, 70000, 500, 1)), xorChunk(scrapes(80000, 250000, 500, 1))
	lanes := SplitOverlapping([]xorSpan{a1, b1, b2, a2}, func(c xorSpan) (int64, int64) { return c.mint, c.maxt })
	if len(lanes) != 2 || lanes[0][1].mint != b2.mint || lanes[1][1].mint != a2.mint {
		t.Fatalf("unexpected lanes %v", lanes)
	}
	merge := func(algo Algorithm) []sample {
		var in []storage.Series
		for _, l := range lanes {
			in = append(in, laneSeries{lset: lsetA, lane: l, fn: "rate", bound: 1e9})
		}
		set := NewSeriesSet(newTestSet(in...), "rate", algo)
		if !set.Next() {
			t.Fatal("no series")
		}
		return collect(t, set.At().Iterator(nil))
	}
	pen, gap := merge(Penalty), merge(Gapfill)
	t.Logf("\n%s", sideBySide([2]string{"penalty", "gapfill"}, pen, gap))

	truth := scrapes(0, 250000, 0, 0)
	const window, step = 60000, 10000
	rp, rg, rt := rates(pen, window, step, 60000, 250000), rates(gap, window, step, 60000, 250000), rates(truth, window, step, 60000, 250000)
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "%7s %9s %9s %9s\n", "t", "penalty", "gapfill", "truth")
	for i := range rp {
		fmt.Fprintf(&tbl, "%7d %9.4f %9.4f %9.4f\n", 60000+int64(i)*step, rp[i], rg[i], rt[i])
	}
	t.Logf("rate over %ds:\n%s", window/1000, tbl.String())

	if m := maxOf(rp); m < 10 {
		t.Errorf("penalty's rate peaks at %g/s; the false reset should show as a spike", m)
	}
	if m, mt := maxOf(rg), maxOf(rt); m > mt+1e-9 {
		t.Errorf("gapfill's rate peaks at %g/s, above the true peak %g/s", m, mt)
	}
	for i := 1; i < len(gap); i++ {
		if gap[i].f < gap[i-1].f {
			t.Fatalf("gapfill decreases at %d: %s", gap[i].t, fmtSamples(gap[i-1:i+1]))
		}
	}
}

func TestGapfillSeek(t *testing.T) {
	gaps := [][]sample{
		f(10000, 1, 20000, 2, 30000, 3, 90000, 9, 100000, 10, 110000, 11),
		f(10500, 101, 20500, 102, 50500, 105, 60500, 106, 70500, 107, 120500, 112),
	}
	full := f(10000, 1, 20000, 2, 30000, 3, 50500, 105, 60500, 106, 70500, 107, 90000, 9, 100000, 10, 110000, 11, 120500, 112)
	for _, tc := range []struct {
		name  string
		seeks []int64
		at    *sample // nil: the last seek returns ValNone
		rest  []sample
	}{
		{name: "before the start", seeks: []int64{0}, at: &sample{t: 10000, f: 1}, rest: full[1:]},
		{name: "into the middle", seeks: []int64{25000}, at: &sample{t: 30000, f: 3}, rest: full[3:]},
		{name: "exact timestamp", seeks: []int64{30000}, at: &sample{t: 30000, f: 3}, rest: full[3:]},
		{name: "into a filled gap", seeks: []int64{45000}, at: &sample{t: 50500, f: 105}, rest: full[4:]},
		{name: "backwards is a no-op", seeks: []int64{65000, 20000}, at: &sample{t: 70500, f: 107}, rest: full[6:]},
		{name: "same target twice", seeks: []int64{95000, 95000}, at: &sample{t: 100000, f: 10}, rest: full[8:]},
		{name: "last sample", seeks: []int64{120500}, at: &sample{t: 120500, f: 112}},
		{name: "past the end", seeks: []int64{130000}},
		{name: "past the end, then back", seeks: []int64{130000, 10000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := mergeOne(t, "", Gapfill, gaps...).Iterator(nil)
			var typ chunkenc.ValueType
			for _, ts := range tc.seeks {
				typ = it.Seek(ts)
			}
			if tc.at == nil {
				if typ != chunkenc.ValNone {
					t.Fatalf("seek: got %v at %d, want ValNone", typ, it.AtT())
				}
				if it.Next() != chunkenc.ValNone {
					t.Fatal("Next after the end")
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

// randomReplicas builds replicas of one counter scraped every 15s, each with
// its own skew, a little jitter, a value lag, and gaps short and long.
func randomReplicas(r *rand.Rand, n, samples int) [][]sample {
	const interval = 15000
	out := make([][]sample, n)
	for i := range out {
		skew := r.Int63n(interval)
		lag := float64(r.Intn(3))
		var s []sample
		for k := range samples {
			ts := int64(k)*interval + skew + r.Int63n(601) - 300
			if r.Intn(30) == 0 {
				continue // a missed scrape
			}
			if o := (k + 70*i) % 150; o >= 40 && o < 52 {
				continue // an outage, at different times on each replica
			}
			s = append(s, sample{t: ts, f: float64(ts/1000) - lag})
		}
		out[i] = s
	}
	return out
}

// The invariants hold whatever the data: time moves forward, never by less
// than about half an interval, and a hole longer than the late threshold
// only where no replica has a usable sample (or right after the first
// sample, before any interval is known).
func TestGapfillInvariants(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round := range 200 {
		reps := randomReplicas(r, 2+round%2, 300)
		for _, fn := range []string{"", "rate"} {
			got := collect(t, mergeOne(t, fn, Gapfill, reps...).Iterator(nil))
			for i := 1; i < len(got); i++ {
				t1, t2 := got[i-1].t, got[i].t
				if t2-t1 < 6500 {
					t.Fatalf("round %d %q: %d and %d are too close", round, fn, t1, t2)
				}
				if fn == "rate" && got[i].f < got[i-1].f {
					t.Fatalf("round %d: counter decreases at %d", round, t2)
				}
				// The first decision is made before any interval is known.
				if t2-t1 <= 24000 || i == 1 {
					continue
				}
				for ri, rep := range reps {
					for _, s := range rep {
						if s.t >= t1+8000 && s.t < t2 {
							t.Fatalf("round %d %q: hole %d..%d while replica %d has %d", round, fn, t1, t2, ri, s.t)
						}
					}
				}
			}
			// Seek to any time lands where iteration does.
			for _, target := range []int64{0, 1_000_000, 2_345_678, 4_000_000} {
				it := mergeOne(t, fn, Gapfill, reps...).Iterator(nil)
				typ := it.Seek(target)
				var want *sample
				for i := range got {
					if got[i].t >= target {
						want = &got[i]
						break
					}
				}
				if want == nil {
					if typ != chunkenc.ValNone {
						t.Fatalf("round %d: Seek(%d) found %d", round, target, it.AtT())
					}
					continue
				}
				requireSamples(t, []sample{*want}, []sample{at(it, typ)})
			}
		}
	}
}

// BenchmarkGapfill is BenchmarkPenalty's input merged with gapfill.
func BenchmarkGapfill(b *testing.B) { benchmarkMerge(b, Gapfill) }
