package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
)

// kubeStores connects to the bed's stores through discovery and tunnels, as the command does.
func kubeStores(t testing.TB) ([]*fanout.Store, func()) {
	t.Helper()
	set, _ := connectStores(t, withKubeconfig(theBed.Kubeconfig))
	return set.FanoutStores(), set.Close
}

// Range queries split at 1h boundaries (the bed's history is 6h, so the default 24h would
// rarely split) and at an interval that is no multiple of the step must give what the Querier
// gives for the same parts, merged; and wherever the Querier's own answer does not depend on
// where the range starts, exactly the unsplit answer.
//
// On this bed it sometimes does depend on it: the penalty dedup picks its first replica at the
// start of the data it reads, and a few counters reset right at a boundary give a different rate
// from a window that starts there (the Querier agrees with us on both). A Query Frontend
// in front of the Querier splits the same way and meets the same differences.
func TestSplitEqualsUnsplit(t *testing.T) {
	stores, closeStores := kubeStores(t)
	defer closeStores()
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	start, end := hs+7_000, he // off the minute grid, so that parts start mid-interval
	failures, equal, startDependent := 0, 0, 0
	for _, q := range queries(hs + (he-hs)/2) {
		for _, dedup := range []bool{true, false} {
			args := []string{q.expr, "-o", "json", "--start", secs(start), "--end", secs(end), "--step", "60", fmt.Sprintf("--dedup=%t", dedup)}
			// Errors (dedup=false makes some joins ambiguous) must agree as answers do.
			unsplit := runOurs(t, stores, append(args, "--split-interval=0"))
			whole := oracle(t, "/api/v1/query_range", url.Values{"query": {q.expr}, "start": {secs(start)}, "end": {secs(end)},
				"step": {"60"}, "dedup": {strconv.FormatBool(dedup)}})
			for _, iv := range []time.Duration{time.Hour, 47 * time.Minute} {
				split := runOurs(t, stores, append(args, "--split-interval="+iv.String()))
				parts := oracleParts(t, theBed.QuerierHTTP, q.expr, start, end, 60_000, iv, dedup)
				if d := diffOrErr(t, split, parts, false); d != "" {
					failures++
					t.Errorf("%s, dedup=%t, split at %s vs the Querier over the same parts:\n  %s", q.expr, dedup, iv, d)
				}
				if diffOrErr(t, parts, whole, false) != "" {
					startDependent++
					continue
				}
				equal++
				if d := diffOrErr(t, split, unsplit, false); d != "" {
					failures++
					t.Errorf("%s, dedup=%t, split at %s vs unsplit:\n  %s", q.expr, dedup, iv, d)
				}
			}
		}
		if failures > 10 {
			t.Fatal("too many differences; stopping")
		}
	}
	t.Logf("%d split evaluations equal to the unsplit one; %d where the Querier's answer itself depends on the range's start", equal, startDependent)
	if equal == 0 {
		t.Error("no comparison with the unsplit answer could be made")
	}
}

// oracleParts asks the Querier at base for each part of the split range and joins the answers.
func oracleParts(t *testing.T, base, q string, start, end, step int64, iv time.Duration, dedup bool) *apiResponse {
	t.Helper()
	return oracleRanges(t, base, q, frontend.Split(start, end, step, iv), start, step, dedup)
}

// oracleRanges asks the Querier at base for each range query in parts, in order, and joins the
// answers' points from time from (ms) on.
func oracleRanges(t *testing.T, base, q string, parts []frontend.Part, from, step int64, dedup bool) *apiResponse {
	t.Helper()
	type merged struct {
		metric map[string]string
		values [][]any
		hists  [][]any
	}
	var order []string
	bySeries := map[string]*merged{}
	keep := func(points [][]any) [][]any {
		var out [][]any
		for _, pt := range points {
			if ts, ok := pt[0].(float64); ok && int64(math.Round(ts*1000)) >= from {
				out = append(out, pt)
			}
		}
		return out
	}
	for _, p := range parts {
		r, err := askOracleAt(base, "/api/v1/query_range", url.Values{"query": {q}, "start": {secs(p.Start)}, "end": {secs(p.End)},
			"step": {strconv.FormatInt(step/1000, 10)}, "dedup": {strconv.FormatBool(dedup)}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != "success" {
			return r
		}
		var ss []apiSeries
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			k := metricKey(s.Metric)
			m := bySeries[k]
			if m == nil {
				m = &merged{metric: s.Metric}
				bySeries[k] = m
				order = append(order, k)
			}
			m.values = append(m.values, keep(s.Values)...)
			m.hists = append(m.hists, keep(s.Histograms)...)
		}
	}
	out := make([]map[string]any, 0, len(order))
	for _, k := range order {
		m := bySeries[k]
		if len(m.values) == 0 && len(m.hists) == 0 {
			continue
		}
		s := map[string]any{"metric": m.metric}
		if len(m.values) > 0 {
			s["values"] = m.values
		}
		if len(m.hists) > 0 {
			s["histograms"] = m.hists
		}
		out = append(out, s)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	r := &apiResponse{Status: "success"}
	r.Data.ResultType = "matrix"
	r.Data.Result = raw
	return r
}

// BenchmarkSplitVsUnsplit evaluates long range queries over the bed's whole history, split at
// 1h (six parts, evaluated four at a time) and unsplit, alternating, and reports the ratio of
// their wall times.
//
//	GLOBALQUERY_BED_DIR=/tmp/bed go test -run '^$' -bench SplitVsUnsplit ./test/e2e/
func BenchmarkSplitVsUnsplit(b *testing.B) {
	stores, closeStores := kubeStores(b)
	defer closeStores()
	hs, he := theBed.HistoryStart, theBed.HistoryEnd
	qs := []string{
		`sum by (cluster) (rate(http_requests_total[5m]))`,
		`histogram_quantile(0.9, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m])))`,
		`max_over_time(rate(http_requests_total{code="200"}[5m])[30m:1m])`,
		`avg_over_time(node_memory_Active_bytes[10m])`,
	}
	run := func(iv string) time.Duration {
		began := time.Now()
		for _, q := range qs {
			var out bytes.Buffer
			o := cmd.NewQueryOptions(genericiooptions.IOStreams{Out: &out, ErrOut: io.Discard})
			fs := cmd.QueryFlagSet(o)
			if err := fs.Parse([]string{"-o", "json", "--start", secs(hs), "--end", secs(he), "--step", "15", "--split-interval", iv}); err != nil {
				b.Fatal(err)
			}
			if err := o.Complete([]string{q}); err != nil {
				b.Fatal(err)
			}
			if err := o.Validate(); err != nil {
				b.Fatal(err)
			}
			if err := o.Execute(context.Background(), stores, nil); err != nil {
				b.Fatalf("%s split at %s: %v", q, iv, err)
			}
		}
		return time.Since(began)
	}
	var split, unsplit time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			unsplit += run("0")
			split += run("1h")
		} else {
			split += run("1h")
			unsplit += run("0")
		}
	}
	b.ReportMetric(float64(split)/float64(b.N)/1e6, "split-ms/op")
	b.ReportMetric(float64(unsplit)/float64(b.N)/1e6, "unsplit-ms/op")
	b.ReportMetric(float64(split)/float64(unsplit), "split/unsplit")
	fmt.Printf("split/unsplit over %s of history, %d queries at 15s steps: %.2f (split %s, unsplit %s per pass)\n",
		time.Duration(he-hs)*time.Millisecond, len(qs), float64(split)/float64(unsplit),
		(split / time.Duration(b.N)).Round(time.Millisecond), (unsplit / time.Duration(b.N)).Round(time.Millisecond))
}
