package frontend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"

	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

func TestSplitKeepsTheGridAndTheBoundaries(t *testing.T) {
	h := time.Hour.Milliseconds()
	for _, tc := range []struct {
		start, end, step int64
		interval         time.Duration
		parts            int
	}{
		{0, 6 * h, 60_000, time.Hour, 7}, // the last point, at 6h, is in an interval of its own
		{7_000, 6*h + 7_000, 60_000, time.Hour, 7},
		{-h/2 + 13, 3 * h, 17_000, time.Hour, 4},
		{0, 6 * h, 7 * h, time.Hour, 1}, // one point
		{1000, 1000, 60_000, time.Hour, 1},
		{0, 48*h - 1, 3_600_000, 24 * time.Hour, 2},
		{0, 6 * h, 60_000, 0, 1},
		{h - 1000, h + 1000, 1000, time.Hour, 2},
	} {
		parts := Split(tc.start, tc.end, tc.step, tc.interval)
		if len(parts) != tc.parts {
			t.Errorf("%+v: %d parts %v, want %d", tc, len(parts), parts, tc.parts)
		}
		// The parts' points, in order, are exactly the query's points.
		want := tc.start
		for _, p := range parts {
			if p.Start != want {
				t.Fatalf("%+v: part %v starts off the grid or leaves a hole (want %d)", tc, p, want)
			}
			if p.End < p.Start || (p.End-p.Start)%tc.step != 0 {
				t.Fatalf("%+v: part %v ends off the grid", tc, p)
			}
			if iv := tc.interval.Milliseconds(); iv > 0 && floorDiv(p.Start, iv) != floorDiv(p.End, iv) {
				t.Fatalf("%+v: part %v crosses an interval boundary", tc, p)
			}
			want = p.End + tc.step
		}
		last := parts[len(parts)-1].End
		if last > tc.end || last+tc.step <= tc.end {
			t.Fatalf("%+v: last part ends at %d, the query's last point is at or before %d", tc, last, tc.end)
		}
	}
}

var splitQueries = []string{
	`requests_total`,
	`rate(requests_total[5m])`,
	`increase(requests_total[1h])`,
	`resets(requests_total[2h])`,
	`sum by (job) (rate(requests_total[5m]))`,
	`topk(2, temperature)`,
	`max_over_time(rate(requests_total[5m])[30m:1m])`,
	`temperature offset 1h`,
	`temperature offset -20m`,
	`requests_total @ start()`,
	`rate(requests_total[10m] @ end())`,
	`max_over_time(temperature[1h:5m] @ start())`,
	`absent(temperature{instance="b"})`,
	`time()`,
	`timestamp(temperature)`,
	`avg_over_time(temperature[10m]) > bool 10`,
}

// Split evaluation must give exactly the unsplit answer, whatever the grid's phase.
func TestSplitEqualsUnsplit(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	store := testData(from)
	eng := engine.New(engine.Options{})
	fe := New(eng, Options{SplitInterval: time.Hour, Parallelism: 3})
	for _, step := range []time.Duration{time.Minute, 37 * time.Second} {
		start, end := time.UnixMilli(from+20*60_000+3_000), time.UnixMilli(from+6*3_600_000-1)
		for _, q := range splitQueries {
			want, err := eng.Range(context.Background(), store, q, start, end, step)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			got, err := fe.Range(context.Background(), Request{Query: q, Start: start, End: end, Step: step, Queryable: store})
			if err != nil {
				t.Fatalf("%s split: %v", q, err)
			}
			if d := diffMatrix(got.Value.(promql.Matrix), want.Value.(promql.Matrix)); d != "" {
				t.Errorf("%s, step %s: split differs: %s", q, step, d)
			}
		}
	}
}

// Without pinning, `@ start()` in a part would be evaluated at the part's own start.
func TestAtStartIsTheWholeQuerysStart(t *testing.T) {
	fe := New(engine.New(engine.Options{}), Options{SplitInterval: time.Hour})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Hour)
	for q, want := range map[string]time.Time{
		`min_over_time(vector(time())[1m:1m] @ start())`: start,
		`min_over_time(vector(time())[1m:1m] @ end())`:   end,
	} {
		res, err := fe.Range(context.Background(), Request{Query: q, Start: start, End: end, Step: 10 * time.Minute, Queryable: &memStore{}})
		if err != nil {
			t.Fatal(err)
		}
		m := res.Value.(promql.Matrix)
		if len(m) != 1 || len(m[0].Floats) != 19 {
			t.Fatalf("%s: result %v", q, m)
		}
		for _, p := range m[0].Floats {
			if p.F != float64(want.Unix()) {
				t.Fatalf("%s at %d: %v, want %d everywhere", q, p.T, p.F, want.Unix())
			}
		}
	}
}

func diffMatrix(a, b promql.Matrix) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d series, want %d", len(a), len(b))
	}
	for i := range a {
		if !labels.Equal(a[i].Metric, b[i].Metric) {
			return fmt.Sprintf("series %d is %s, want %s", i, a[i].Metric, b[i].Metric)
		}
		if len(a[i].Floats) != len(b[i].Floats) {
			return fmt.Sprintf("%s: %d points, want %d", a[i].Metric, len(a[i].Floats), len(b[i].Floats))
		}
		for j, p := range a[i].Floats {
			q := b[i].Floats[j]
			if p.T != q.T || (p.F != q.F && !(math.IsNaN(p.F) && math.IsNaN(q.F))) {
				return fmt.Sprintf("%s: point %d is %v, want %v", a[i].Metric, j, p, q)
			}
		}
	}
	return ""
}

// A dashboard refreshed a few minutes later reads only the new tail: what is cached is served
// from the cache, and the answer is still the unsplit one.
func TestCacheReadsOnlyTheNewTail(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	store := testData(from)
	eng := engine.New(engine.Options{})
	now := time.UnixMilli(from + 7*3_600_000)
	cache, err := NewResultsCache(1<<30, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fe := New(eng, Options{SplitInterval: time.Hour, Cache: cache, Now: func() time.Time { return now }})
	start, end, step := time.UnixMilli(from+30*60_000), time.UnixMilli(from+5*3_600_000+30*60_000), time.Minute
	q := `sum by (instance) (rate(requests_total[5m]))`
	if _, err := fe.Range(context.Background(), Request{Query: q, Start: start, End: end, Step: step, Queryable: store}); err != nil {
		t.Fatal(err)
	}
	store.reset()
	shift := 10 * time.Minute
	got, err := fe.Range(context.Background(), Request{Query: q, Start: start.Add(shift), End: end.Add(shift), Step: step, Queryable: store})
	if err != nil {
		t.Fatal(err)
	}
	asked := store.reset()
	if len(asked) == 0 {
		t.Fatal("the new tail was not read")
	}
	for _, a := range asked {
		// The tail's first point is end+1m; a 5m rate reads from 5m before it.
		if a[0] < end.Add(step-5*time.Minute).UnixMilli()-1 {
			t.Errorf("read [%d, %d], before the new tail (%d)", a[0], a[1], end.UnixMilli())
		}
	}
	want, err := eng.Range(context.Background(), store, q, start.Add(shift), end.Add(shift), step)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffMatrix(got.Value.(promql.Matrix), want.Value.(promql.Matrix)); d != "" {
		t.Fatalf("cached answer differs: %s", d)
	}

	// A new cache over the same directory answers the same query from disk alone.
	store.reset()
	disk, err := NewResultsCache(1<<30, cache.dir)
	if err != nil {
		t.Fatal(err)
	}
	fe2 := New(eng, Options{SplitInterval: time.Hour, Cache: disk, Now: func() time.Time { return now }})
	got2, err := fe2.Range(context.Background(), Request{Query: q, Start: start.Add(shift), End: end.Add(shift), Step: step, Queryable: store})
	if err != nil {
		t.Fatal(err)
	}
	if a := store.reset(); len(a) != 0 {
		t.Fatalf("from disk, the stores were still asked for %v", a)
	}
	if d := diffMatrix(got2.Value.(promql.Matrix), want.Value.(promql.Matrix)); d != "" {
		t.Fatalf("answer from disk differs: %s", d)
	}
}

// Points within the freshness window, and every point of a query that reads at a recent @
// time, are evaluated again each time.
func TestCacheLeavesRecentPointsOut(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	store := testData(from)
	end := time.UnixMilli(from + 6*3_600_000)
	now := end.Add(5 * time.Minute)
	cache, _ := NewResultsCache(1<<30, "")
	fe := New(engine.New(engine.Options{}), Options{SplitInterval: time.Hour, Cache: cache, Now: func() time.Time { return now }})
	run := func(q string) [][2]int64 {
		store.reset()
		if _, err := fe.Range(context.Background(), Request{Query: q, Start: end.Add(-3 * time.Hour), End: end, Step: time.Minute, Queryable: store}); err != nil {
			t.Fatal(err)
		}
		return store.reset()
	}
	run(`temperature`)
	again := run(`temperature`)
	if len(again) == 0 {
		t.Fatal("the last 10 minutes were served from the cache")
	}
	for _, a := range again {
		if a[0] < now.Add(-10*time.Minute-5*time.Minute).UnixMilli() {
			t.Fatalf("second run read %v: want only the last 10 minutes (and the lookback before them)", again)
		}
	}
	q := fmt.Sprintf(`temperature @ %d`, end.Unix())
	first := run(q)
	if again := run(q); len(again) != len(first) {
		t.Fatalf("a query at a recent @ time was served from the cache (%d reads, %d the first time)", len(again), len(first))
	}
}

// The key changes with anything that changes answers.
func TestFingerprintCoversTheSettings(t *testing.T) {
	st := func(name, replica string) *fanout.Store {
		s := &fanout.Store{Name: name}
		s.Info.LabelSets = []labels.Labels{labels.FromStrings("cluster", "eu", "replica", replica)}
		return s
	}
	stores := []*fanout.Store{st("a", "0"), st("b", "1")}
	base := fanout.Options{Dedup: true, ReplicaLabels: []string{"replica"}, DedupAlgorithm: "penalty"}
	fp := Fingerprint(stores, base, engine.Options{})
	variants := map[string]string{}
	add := func(name string, s []*fanout.Store, fo fanout.Options, eo engine.Options) {
		variants[name] = Fingerprint(s, fo, eo)
	}
	o := base
	o.Dedup = false
	add("dedup off", stores, o, engine.Options{})
	o = base
	o.DedupAlgorithm = "chain"
	add("dedup func", stores, o, engine.Options{})
	o = base
	o.ReplicaLabels = []string{"prometheus_replica"}
	add("replica labels", stores, o, engine.Options{})
	o = base
	o.PartialResponse = true
	add("partial", stores, o, engine.Options{})
	add("a store less", stores[:1], base, engine.Options{})
	add("other labels", []*fanout.Store{st("a", "0"), st("b", "2")}, base, engine.Options{})
	add("lookback", stores, base, engine.Options{LookbackDelta: time.Minute})
	for name, v := range variants {
		if v == fp {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	if Fingerprint([]*fanout.Store{stores[1], stores[0]}, base, engine.Options{}) != fp {
		t.Error("the order of the stores changed the fingerprint")
	}
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("store x: %w", status.Error(codes.Unavailable, "error reading from server: EOF")), true},
		{status.Error(codes.Internal, "unexpected EOF"), true},
		{status.Error(codes.Unavailable, "connection error: tls: first record does not look like a TLS handshake"), false},
		{status.Error(codes.InvalidArgument, "bad matchers"), false},
		{status.Error(codes.PermissionDenied, "no"), false},
		{&tunnel.Error{Target: "a/b", Port: 10901, Err: syscall.ECONNRESET}, true},
		{&tunnel.Error{Target: "a/b", Port: 10901, Kubelet: "failed to dial 127.0.0.1:1: connect: connection refused"}, true},
		{errors.New("port-forward to a/b port 10901: connection reset by peer"), false}, // words decide nothing
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{&engine.ParseError{Query: "x", Pos: -1, Msg: "bad"}, false},
		{errors.New("many-to-many matching not allowed"), false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %t", tc.err, got)
		}
	}
}

// A transient failure is retried, the whole part again; one that outlasts the retries names the
// attempts and what to do.
func TestRetry(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	store := testData(from)
	// The parts of a split range are evaluated at once, and each may fail: one lock for the count.
	var mu sync.Mutex
	failures := 2
	store.fail = func() error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return fmt.Errorf("store eu/prom-0: %w", status.Error(codes.Unavailable, "error reading from server: EOF"))
		}
		return nil
	}
	eng := engine.New(engine.Options{})
	fe := New(eng, Options{SplitInterval: time.Hour, MaxRetries: 2, RetryBackoff: time.Millisecond})
	start, end := time.UnixMilli(from+3_600_000), time.UnixMilli(from+4*3_600_000)
	got, err := fe.Range(context.Background(), Request{Query: `rate(requests_total[5m])`, Start: start, End: end, Step: time.Minute, Queryable: store})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := eng.Range(context.Background(), store, `rate(requests_total[5m])`, start, end, time.Minute)
	if d := diffMatrix(got.Value.(promql.Matrix), want.Value.(promql.Matrix)); d != "" {
		t.Fatalf("retried answer differs: %s", d)
	}
	mu.Lock()
	failures = 100
	mu.Unlock()
	_, err = fe.Instant(context.Background(), Request{Query: `requests_total`, Start: end, Queryable: store})
	var gu *GaveUpError
	msg := failure.Word(err, failure.Words{failure.MaxRetries: "--max-retries", failure.PartialResponse: "--partial-response"})
	if !errors.As(err, &gu) || gu.Attempts != 3 || !strings.Contains(msg, "store eu/prom-0") ||
		!strings.Contains(msg, "--max-retries 2") || !strings.Contains(msg, "--partial-response") {
		t.Fatalf("got %v", err)
	}
	if failures != 97 {
		t.Fatalf("%d attempts, want 3", 100-failures)
	}
}

func TestSlowLogLine(t *testing.T) {
	var b strings.Builder
	l := NewSlowLog(&b, time.Nanosecond)
	l.log(record{query: "sum by (job) (up{a=\"b\"})\n", kind: "range", start: time.Unix(0, 0), end: time.Unix(60, 0), step: time.Second,
		took: 2 * time.Second, stores: storeDelta{touched: []string{"eu/p-0", "us/p-0"}, calls: 2, series: 7}, stats: &queryStats{series: 3, samples: 90}})
	line := b.String()
	for _, want := range []string{`query="sum by (job) (up{a=\"b\"})\n"`, "duration=2s", "stores_touched=2", "stores=eu/p-0,us/p-0",
		"series=3", "samples=90", "store_series=7", "status=success"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %s", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("not one line: %q", line)
	}
	b.Reset()
	NewSlowLog(&b, time.Hour).log(record{took: time.Second, stats: &queryStats{}})
	if b.Len() != 0 {
		t.Errorf("a fast query was logged: %q", b.String())
	}
}
