package e2e

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/globalquery/kubectl-globalquery/internal/corpus"
)

// corpusSkips are expressions whose answers differ from the Querier's for a reason we must not
// copy, matched by regexp. Each still runs; its differences are reported as skipped, not hidden,
// and an entry that no longer matches any difference is reported too, so that it can go.
var corpusSkips = []struct {
	re     *regexp.Regexp
	reason string
}{
	{regexp.MustCompile(`^first_over_time\(`),
		"engine version: first_over_time is stable in Prometheus v0.316 (ours) but experimental in v0.309.1, inside Thanos v0.42, and the Querier does not enable experimental functions"},
	{regexp.MustCompile(`\[5m\+1m\]|offset \(30m \* 2\)|\[1h:\(30s\*2\)\]`),
		"engine version: duration expressions are always on in Prometheus v0.316's parser (ours), behind a flag in v0.309.1 that Thanos v0.42 does not set"},
}

// skipReason returns why q is on the skip list, or "".
func skipReason(q string) string {
	for _, s := range corpusSkips {
		if s.re.MatchString(q) {
			return s.reason
		}
	}
	return ""
}

// evaluation is one way of running an expression: instant at a time, or a range.
type evaluation struct {
	name             string
	instant          bool
	at               int64 // ms, instant
	start, end, step int64 // ms, range
	// only, when set, limits the evaluation to one family of the corpus.
	only string
	// settled is the live time: no store gets samples at or before it any more.
	settled int64
}

// applies says whether the evaluation runs the expression. Not when the expression reads past
// the settled time (a negative offset near the live end): samples scraped between our
// evaluation and the oracle's would make the answers differ by when each ran.
func (e evaluation) applies(x corpus.Expr) bool {
	if e.only != "" && e.only != x.Family {
		return false
	}
	last := e.at
	if !e.instant {
		last = e.end
	}
	return e.settled == 0 || last+readsAhead(x.Query) <= e.settled
}

// readsAhead is how far past its evaluation time an expression may read (ms): the sum of its
// negative offsets, which is at least the furthest any one selector reaches.
func readsAhead(q string) int64 {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return 0
	}
	var ahead time.Duration
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			ahead += max(0, -n.OriginalOffset)
		case *parser.SubqueryExpr:
			ahead += max(0, -n.OriginalOffset)
		}
		return nil
	})
	return ahead.Milliseconds()
}

func (e evaluation) String() string {
	if e.instant {
		return e.name + " at " + when(float64(e.at)/1000)
	}
	return fmt.Sprintf("%s %s to %s step %ss", e.name, when(float64(e.start)/1000), when(float64(e.end)/1000), stepArg(e.step))
}

func (e evaluation) params(q string, dedup bool) (string, url.Values) {
	v := url.Values{"query": {q}, "dedup": {strconv.FormatBool(dedup)}}
	if e.instant {
		v.Set("time", secs(e.at))
		return "/api/v1/query", v
	}
	v.Set("start", secs(e.start))
	v.Set("end", secs(e.end))
	v.Set("step", stepArg(e.step))
	return "/api/v1/query_range", v
}

func (e evaluation) args(q string, dedup bool) []string {
	a := []string{q, "-o", "json", "--dedup=" + strconv.FormatBool(dedup)}
	if e.instant {
		return append(a, "--time", secs(e.at))
	}
	return append(a, "--start", secs(e.start), "--end", secs(e.end), "--step", stepArg(e.step), unsplit)
}

func stepArg(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }

// corpusEvaluations are the instants that matter on the bed (early on, inside each europe
// replica's gap, near the end of the backfilled history, live,
// and in the bucket's older history when a Store Gateway serves one), one range over all of it,
// and for the staleness family, instants and a fine range around the end of the short-lived job.
func corpusEvaluations(now int64) []evaluation {
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	const minute = int64(60_000)
	evs := []evaluation{
		{name: "instant early", instant: true, at: hs + 20*minute},
		{name: "instant in replica 0's gap", instant: true, at: theBed.At(1.0/3) + 5*minute},
		{name: "instant in replica 1's gap", instant: true, at: theBed.At(2.0/3) + 5*minute},
		{name: "instant near the end", instant: true, at: he - 3*minute},
		{name: "instant live", instant: true, at: now},
	}
	start := hs
	if theBed.StoreGateway != "" && theBed.BucketStart < hs {
		evs = append(evs, evaluation{name: "instant in the bucket", instant: true, at: theBed.BucketStart + (hs-theBed.BucketStart)/2})
		start = theBed.BucketStart
	}
	// A minute step, coarser only if the range would otherwise hold too many points to be quick.
	step := max(minute, (now-start)/720/minute*minute)
	evs = append(evs, evaluation{name: "range", start: start, end: now, step: step})
	if e := theBed.EphemeralEnd; e > 0 {
		// Replica 0 stopped being answered first, so just before the end only replica 1 has
		// samples, and a second later both have staleness markers.
		evs = append(evs,
			evaluation{name: "instant as the short-lived job ends", instant: true, at: e - 250, only: corpus.FamilyStaleness},
			evaluation{name: "instant after the short-lived job", instant: true, at: e + 1000, only: corpus.FamilyStaleness},
			evaluation{name: "fine range around the short-lived job", start: e - 5000, end: e + 5000, step: 500, only: corpus.FamilyStaleness})
	}
	for i := range evs {
		evs[i].settled = now
	}
	return evs
}

// liveTime is the time of the live evaluations (ms): two scrape intervals back, so that every
// replica has stored the samples up to it and later scrapes cannot change an answer. On a bed
// that has only just started it waits a little, so that the live series (native histograms among
// them) have a few samples to compare.
func liveTime() int64 {
	const settled = 10 * time.Second
	if wait := time.Until(theBed.Started.Add(25*time.Second + settled)); wait > 0 {
		time.Sleep(wait)
	}
	return time.Now().Add(-settled).Truncate(time.Second).UnixMilli()
}

// corpusOracle is the Querier over the same stores as corpusPaths: with a Store Gateway in the
// bed, the one that has it as an endpoint too.
func corpusOracle() string {
	if theBed.StoreGateway != "" && theBed.QuerierAllHTTP != "" {
		return theBed.QuerierAllHTTP
	}
	return theBed.QuerierHTTP
}

// corpusPaths are connectPaths plus, on both, the Store Gateway as an endpoint, as the oracle
// has it.
func corpusPaths(t *testing.T) []connected {
	t.Helper()
	paths := connectPaths(t)
	if theBed.StoreGateway == "" {
		return paths
	}
	for i := range paths {
		set, _ := connectStores(t, withEndpoints(theBed.StoreGateway))
		closeSidecars := paths[i].close
		paths[i].name += "+store-gateway"
		paths[i].stores = append(paths[i].stores, set.FanoutStores()...)
		paths[i].close = func() { closeSidecars(); set.Close() }
	}
	return paths
}

// corpusJob is one expression under one evaluation and one dedup setting: one Querier answer
// compared with ours through every path.
type corpusJob struct {
	idx   int // of the expression in the corpus, for sorting the report
	expr  corpus.Expr
	evIdx int
	ev    evaluation
	dedup bool
}

type corpusDiff struct {
	idx, evIdx int
	dedup      bool
	path       string
	expr       corpus.Expr
	mode       string
	detail     string
}

func (d corpusDiff) String() string {
	return fmt.Sprintf("%s\n    mode: %s, dedup=%t, via %s [%s]\n    %s", d.expr.Query, d.mode, d.dedup, d.path, d.expr.Family,
		strings.ReplaceAll(d.detail, "\n", "\n    "))
}

// TestCorpusAgainstQuerier evaluates the generated corpus at several instants and over a range,
// with dedup on and off, through both ways of reaching the stores, and compares every answer
// with the Querier's over the same stores. GLOBALQUERY_CORPUS_MATCH (a regexp) narrows the
// corpus, GLOBALQUERY_CORPUS_WORKERS sets the parallelism.
func TestCorpusAgainstQuerier(t *testing.T) {
	started := time.Now()
	paths := corpusPaths(t)
	defer closePaths(paths)
	now := liveTime()
	evs := corpusEvaluations(now)
	exprs := corpus.Generate(corpus.Params{At: theBed.At(0.5) / 1000})
	if m := os.Getenv("GLOBALQUERY_CORPUS_MATCH"); m != "" {
		re := regexp.MustCompile(m)
		exprs = slices.DeleteFunc(exprs, func(e corpus.Expr) bool { return !re.MatchString(e.Query) })
	}
	workers := 2 * runtime.NumCPU()
	if w, err := strconv.Atoi(os.Getenv("GLOBALQUERY_CORPUS_WORKERS")); err == nil && w > 0 {
		workers = w
	}

	jobs := make(chan corpusJob)
	var (
		mu          sync.Mutex
		diffs       []corpusDiff
		problems    []string
		comparisons int
		answered    int
		// Time spent per evaluation, by the oracle and by us, to see where the run time goes.
		oracleTime = make([]time.Duration, len(evs))
		oursTime   = make([]time.Duration, len(evs))
		// Expressions the oracle answered with data at least once; an expression that never gets
		// any proves little.
		hadData = make([]bool, len(exprs))
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				r := runCorpusJob(j, paths)
				mu.Lock()
				comparisons += len(paths)
				if r.answered {
					answered += len(paths)
					hadData[j.idx] = true
				}
				oracleTime[j.evIdx] += r.oracle
				oursTime[j.evIdx] += r.ours
				diffs = append(diffs, r.diffs...)
				problems = append(problems, r.problems...)
				mu.Unlock()
			}
		})
	}
	for i, e := range exprs {
		for k, ev := range evs {
			if !ev.applies(e) {
				continue
			}
			for _, dedup := range []bool{true, false} {
				jobs <- corpusJob{idx: i, expr: e, evIdx: k, ev: ev, dedup: dedup}
			}
		}
	}
	close(jobs)
	wg.Wait()

	for _, p := range problems[:min(len(problems), 10)] {
		t.Error(p)
	}
	if len(problems) > 10 {
		t.Errorf("... and %d more problems running the corpus", len(problems)-10)
	}
	slices.SortFunc(diffs, func(a, b corpusDiff) int {
		if c := a.idx - b.idx; c != 0 {
			return c
		}
		if c := a.evIdx - b.evIdx; c != 0 {
			return c
		}
		if a.dedup != b.dedup {
			if a.dedup {
				return -1
			}
			return 1
		}
		return strings.Compare(a.path, b.path)
	})
	var failed, skipped []corpusDiff
	for _, d := range diffs {
		if skipReason(d.expr.Query) != "" {
			skipped = append(skipped, d)
		} else {
			failed = append(failed, d)
		}
	}
	reportSkips(t, exprs, skipped)
	reportDiffs(t, failed, len(exprs))
	var noData []string
	for i, e := range exprs {
		if !hadData[i] && e.Family != corpus.FamilyExperimental {
			noData = append(noData, e.Query)
		}
	}
	t.Logf("%d expressions never had data from the oracle (errors or empty results everywhere): %q", len(noData), noData)
	for k, ev := range evs {
		t.Logf("time in %s: oracle %s, ours %s", ev.name, oracleTime[k].Round(time.Millisecond), oursTime[k].Round(time.Millisecond))
	}
	t.Logf("corpus: %d expressions, %d evaluations (%d for the staleness family) x 2 dedup settings x %d paths: %d comparisons (%d where the oracle had data) with %s in %s (%d workers)",
		len(exprs), countEvals(evs, ""), countEvals(evs, corpus.FamilyStaleness), len(paths), comparisons, answered, corpusOracle(),
		time.Since(started).Round(time.Second), workers)
}

// reportDiffs fails the test with the differences, in corpus order: for each expression its
// first few, and how many more it had, up to a cap on the expressions shown.
func reportDiffs(t *testing.T, failed []corpusDiff, total int) {
	t.Helper()
	const perExpr, exprsShown = 3, 25
	n := 0
	for i := 0; i < len(failed); {
		j := i
		for j < len(failed) && failed[j].idx == failed[i].idx {
			j++
		}
		if n < exprsShown {
			var b strings.Builder
			for _, d := range failed[i:min(j, i+perExpr)] {
				b.WriteString("\n  " + strings.ReplaceAll(d.String(), "\n", "\n  "))
			}
			if j-i > perExpr {
				fmt.Fprintf(&b, "\n  ... and %d more differences of this expression", j-i-perExpr)
			}
			t.Errorf("differs in %d modes:%s", j-i, b.String())
		}
		n++
		i = j
	}
	if n > exprsShown {
		t.Errorf("... and %d more expressions differ", n-exprsShown)
	}
	if n > 0 {
		t.Errorf("%d differences in %d of %d expressions", len(failed), n, total)
	}
}

func countEvals(evs []evaluation, family string) int {
	n := 0
	for _, e := range evs {
		if e.applies(corpus.Expr{Family: family}) {
			n++
		}
	}
	return n
}

// reportSkips prints what the skip list covers and how those expressions differed, and names
// entries that match no difference any more.
func reportSkips(t *testing.T, exprs []corpus.Expr, skipped []corpusDiff) {
	t.Helper()
	byExpr := map[string]int{}
	first := map[string]corpusDiff{}
	for _, d := range skipped {
		if byExpr[d.expr.Query] == 0 {
			first[d.expr.Query] = d
		}
		byExpr[d.expr.Query]++
	}
	inCorpus := 0
	used := map[string]bool{}
	for _, e := range exprs {
		reason := skipReason(e.Query)
		if reason == "" {
			continue
		}
		inCorpus++
		if n := byExpr[e.Query]; n > 0 {
			used[reason] = true
			t.Logf("skipped: %s (%d differences; %s)\n    first: %s", e.Query, n, reason, strings.ReplaceAll(first[e.Query].detail, "\n", "\n    "))
		} else {
			t.Logf("on the skip list but no longer differs: %s", e.Query)
		}
	}
	for _, s := range corpusSkips {
		if !used[s.reason] {
			t.Logf("skip list entry %q matches no difference: remove it", s.re)
		}
	}
	t.Logf("%d expressions on the skip list, %d of their comparisons differ", inCorpus, len(skipped))
}

// jobResult is what one corpusJob found, with what it cost.
type jobResult struct {
	diffs    []corpusDiff
	problems []string
	oracle   time.Duration
	ours     time.Duration // summed over the paths
	answered bool          // the oracle answered with data: neither an error nor an empty result
}

// runCorpusJob asks the Querier once and each path once, and describes every difference.
func runCorpusJob(j corpusJob, paths []connected) jobResult {
	var r jobResult
	path, params := j.ev.params(j.expr.Query, j.dedup)
	began := time.Now()
	want, err := askOracleAt(corpusOracle(), path, params)
	r.oracle = time.Since(began)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s (%s, dedup=%t): %v", j.expr.Query, j.ev.name, j.dedup, err))
		return r
	}
	r.answered = want.Status == "success" && string(want.Data.Result) != "[]"
	for _, p := range paths {
		began := time.Now()
		got, err := ours(p.stores, io.Discard, append(j.ev.args(j.expr.Query, j.dedup), p.args...)...)
		r.ours += time.Since(began)
		if err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s (%s, dedup=%t, via %s): %v", j.expr.Query, j.ev.name, j.dedup, p.name, err))
			continue
		}
		if d := compareAnswers(got, want, j.ev.instant && j.expr.Ordered); d != "" {
			r.diffs = append(r.diffs, corpusDiff{idx: j.idx, evIdx: j.evIdx, dedup: j.dedup, path: p.name, expr: j.expr, mode: j.ev.String(), detail: d})
		}
	}
	return r
}
