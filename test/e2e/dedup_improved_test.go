package e2e

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// europeReplicas returns the replica label values of the europe pair, in
// store order.
func europeReplicas(t *testing.T) [2]string {
	t.Helper()
	var out []string
	for _, s := range theBed.Stores {
		if s.Namespace == "europe" {
			out = append(out, s.Replica)
		}
	}
	if len(out) != 2 {
		t.Fatalf("expected two europe replicas, got %v", out)
	}
	slices.Sort(out)
	return [2]string{out[0], out[1]}
}

// withReplica adds a replica matcher to a selector written with braces.
func withReplica(sel, replica string) string {
	return strings.Replace(sel, "{", `{replica="`+replica+`",`, 1)
}

// onlySeries returns the single series of an answer (nil if empty), failing
// on more.
func onlySeries(t *testing.T, r *apiResponse) []point {
	t.Helper()
	if r.Status != "success" {
		t.Fatalf("query failed: %s", r.Error)
	}
	ss := parseResult(t, r)
	switch len(ss) {
	case 0:
		return nil
	case 1:
		return ss[0].points
	}
	t.Fatalf("expected one series, got %d", len(ss))
	return nil
}

// replicaSamples returns the timestamps (ms) of one replica's samples of sel
// in (from, to].
func replicaSamples(t *testing.T, sel, replica string, from, to int64) []int64 {
	t.Helper()
	r := oracle(t, "/api/v1/query", url.Values{
		"query": {fmt.Sprintf("%s[%dms]", withReplica(sel, replica), to-from)},
		"time":  {secs(to)}, "dedup": {"false"},
	})
	var out []int64
	for _, p := range onlySeries(t, r) {
		out = append(out, int64(math.Round(p.t*1000)))
	}
	return out
}

// longestHole returns the samples on either side of the longest hole.
func longestHole(ts []int64) (last, next int64) {
	for i := 1; i < len(ts); i++ {
		if ts[i]-ts[i-1] > next-last {
			last, next = ts[i-1], ts[i]
		}
	}
	return last, next
}

func clock(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") }

// table renders answers side by side by timestamp.
func table(names []string, cols ...[]point) string {
	var ts []float64
	for _, c := range cols {
		for _, p := range c {
			ts = append(ts, p.t)
		}
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s", "time")
	for _, n := range names {
		fmt.Fprintf(&b, " %-22s", n)
	}
	b.WriteByte('\n')
	for _, x := range ts {
		fmt.Fprintf(&b, "%-14s", clock(int64(math.Round(x*1000))))
		for _, c := range cols {
			v := "-"
			for _, p := range c {
				if p.t == x {
					v = p.v
				}
			}
			fmt.Fprintf(&b, " %-22s", v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// within returns the points with from < t <= to (ms).
func within(pts []point, from, to int64) []point {
	var out []point
	for _, p := range pts {
		if ms := int64(math.Round(p.t * 1000)); ms > from && ms <= to {
			out = append(out, p)
		}
	}
	return out
}

// Europe replica 0 is down for a while a third into the history (bed's
// replica plans) while replica 1 keeps scraping, 7-13s later in each
// interval. The window starts on a sample of replica 0 that replica 1
// follows within 10s. Both merges then follow replica 0 (the Querier after
// one sample of replica 1: its initial penalty is only 5s, and the 2x
// penalty it then puts on replica 0 is too short to skip replica 0's next
// sample). When replica 0 stops, the Querier holds replica 1 back for two
// intervals after replica 0's last sample, and replica 1's first sample
// more than half an interval later is missing from its answer. gapfill
// takes it: from there on its answer is exactly replica 1's (the ground
// truth for the outage), and before it exactly replica 0's.
func TestImprovedDedupFillsGap(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	reps := europeReplicas(t)
	const sel = `http_requests_total{cluster=~"europe/.*",instance="api-eu-0:8080",handler="/api/orders",method="GET",code="200"}`
	third := theBed.At(1.0 / 3)
	r0 := replicaSamples(t, sel, reps[0], third-30*60_000, third+40*60_000)
	r1 := replicaSamples(t, sel, reps[1], third-30*60_000, third+40*60_000)
	last, next := longestHole(r0)
	if next-last < 5*60_000 {
		t.Fatalf("replica %s has no outage near %s (longest hole %s..%s)", reps[0], clock(third), clock(last), clock(next))
	}
	t.Logf("replica %s: last sample %s before its outage, next %s", reps[0], clock(last), clock(next))
	first := int64(0)
	for _, ts := range r0 {
		if ts < last-5*60_000 || ts > last-60_000 {
			continue
		}
		i, _ := slices.BinarySearch(r1, ts+1)
		if i < len(r1) && r1[i]-ts < 10_000 {
			first = ts
			break
		}
	}
	if first == 0 {
		t.Fatalf("no sample of replica %s in the 5 minutes before %s is followed by one of replica %s within 10s", reps[0], clock(last), reps[1])
	}
	// The window (first-0.5s, last+4m] starts with replica 0's sample at
	// first: replica 1's previous one is at least 17s earlier.
	at := last + 4*60_000
	rng := fmt.Sprintf("[%dms]", at-first+500)
	instant := func(q string, dedup bool) []point {
		return onlySeries(t, oracle(t, "/api/v1/query", url.Values{"query": {q + rng}, "time": {secs(at)}, "dedup": {strconv.FormatBool(dedup)}}))
	}
	querier := instant(sel, true)
	truth := instant(withReplica(sel, reps[1]), false)
	before := instant(withReplica(sel, reps[0]), false)
	// Half of the 30s scrape interval: the closest gapfill puts a sample of
	// another replica after the last one emitted.
	gapFrom := last + 15_000
	if len(within(truth, gapFrom, at)) < 4 {
		t.Fatalf("replica %s has only %d samples in the outage window", reps[1], len(within(truth, gapFrom, at)))
	}
	for _, p := range paths {
		ours := onlySeries(t, runOurs(t, p.stores, append([]string{sel + rng, "-o", "json", "--time", secs(at), "--dedup-func=gapfill"}, p.args...)))
		t.Logf("%s%s at %s via %s:\n%s", sel, rng, clock(at), p.name,
			table([]string{"querier (penalty)", "ours (gapfill)", "truth: replica 1", "replica 0"}, querier, ours, truth, before))

		if d := diffPoints(within(ours, gapFrom, at), within(truth, gapFrom, at)); d != "" {
			t.Errorf("via %s, ours differs from replica %s during the outage: %s", p.name, reps[1], d)
		}
		if d := diffPoints(within(ours, 0, last), before); d != "" {
			t.Errorf("via %s, ours differs from replica %s before the outage: %s", p.name, reps[0], d)
		}
	}
	if d := diffPoints(within(querier, gapFrom, at), within(truth, gapFrom, at)); d == "" {
		t.Errorf("the Querier's answer has no hole after %s; the bed no longer shows penalty's gap", clock(last))
	} else {
		t.Logf("the Querier against replica %s during the outage: %s", reps[1], d)
	}
}

// The worker's reports counter restarts on europe replica 1 alone a quarter
// into the history, so from then on replica 1's counter total (as the
// Querier reads a lane for rate) is slightly below replica 0's. A range
// query that starts before replica 0's outage follows replica 1 from that
// outage on; at replica 1's own outage two thirds in, penalty moves back to
// replica 0 and passes the difference on as an increase: rate() bumps over
// the next five minutes (thanos-io/thanos#7623, a switch to a replica whose
// counter reads higher). gapfill offsets replica 0 to continue where replica
// 1 left off. Ground truth is replica 0's own rate, the replica without a
// hole there and without the restart.
func TestImprovedDedupCounterSwitch(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	reps := europeReplicas(t)
	const sel = `jobs_processed_total{cluster=~"europe/.*",queue="reports"}`
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	twoThirds := theBed.At(2.0 / 3)
	last, next := longestHole(replicaSamples(t, sel, reps[1], twoThirds-30*60_000, twoThirds+40*60_000))
	if next-last < 5*60_000 {
		t.Fatalf("replica %s has no outage near %s", reps[1], clock(twoThirds))
	}
	t.Logf("replica %s: last sample %s, next %s", reps[1], clock(last), clock(next))

	expr := "rate(" + sel + "[5m])"
	start, end, step := hs+10*60_000, he, int64(60_000)
	rangeParams := func(q string, dedup bool) url.Values {
		return url.Values{"query": {q}, "start": {secs(start)}, "end": {secs(end)}, "step": {strconv.FormatInt(step/1000, 10)}, "dedup": {strconv.FormatBool(dedup)}}
	}
	querier := onlySeries(t, oracle(t, "/api/v1/query_range", rangeParams(expr, true)))
	truth := onlySeries(t, oracle(t, "/api/v1/query_range", rangeParams("rate("+withReplica(sel, reps[0])+"[5m])", false)))

	// The steps whose window contains the switch.
	from, to := last, last+6*60_000
	rel := func(a, b string) float64 {
		x, _ := strconv.ParseFloat(a, 64)
		y, _ := strconv.ParseFloat(b, 64)
		return math.Abs(x-y) / math.Abs(y)
	}
	worst := func(got []point) (float64, string) {
		w, at := 0.0, ""
		for _, p := range within(got, from, to) {
			for _, q := range truth {
				if q.t == p.t {
					if e := rel(p.v, q.v); e > w {
						w, at = e, clock(int64(p.t*1000))
					}
				}
			}
		}
		return w, at
	}
	qErr, qAt := worst(querier)
	for _, p := range paths {
		ours := onlySeries(t, runOurs(t, p.stores, append([]string{expr, "-o", "json", "--start", secs(start), "--end", secs(end),
			"--step", strconv.FormatInt(step/1000, 10), "--dedup-func=gapfill"}, p.args...)))
		t.Logf("%s around replica %s's outage via %s:\n%s", expr, reps[1], p.name,
			table([]string{"querier (penalty)", "ours (gapfill)", "truth (" + reps[0][len(reps[0])-1:] + ")"},
				within(querier, from-2*60_000, to+2*60_000), within(ours, from-2*60_000, to+2*60_000), within(truth, from-2*60_000, to+2*60_000)))
		oErr, oAt := worst(ours)
		t.Logf("largest error against the truth: querier %.2f%% at %s, ours %.3f%% at %s", 100*qErr, qAt, 100*oErr, oAt)
		if qErr < 0.01 {
			t.Errorf("the Querier is within 1%% of the truth around the switch; the bed no longer shows the bump")
		}
		if oErr > qErr/5 {
			t.Errorf("via %s, ours is off by %.2f%% at %s, the Querier by %.2f%%", p.name, 100*oErr, oAt, 100*qErr)
		}
		// Once the switch has left the window, ours is replica 0's rate. (It was not, on some
		// time alignments, while gapfill read the Querier's lanes, which may join a chunk of
		// one replica to one of the other.)
		if d := diffPoints(within(ours, to, to+20*60_000), within(truth, to, to+20*60_000)); d != "" {
			t.Errorf("via %s, after the switch ours differs from replica %s: %s", p.name, reps[0], d)
		}
	}
}
