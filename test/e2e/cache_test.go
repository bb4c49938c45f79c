package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
)

var dashboard = []string{
	`sum by (cluster) (rate(http_requests_total[5m]))`,
	`sum by (cluster, code) (rate(http_requests_total[5m]))`,
	`sum(rate(http_requests_total{code=~"5.."}[5m])) by (cluster) / sum(rate(http_requests_total[5m])) by (cluster)`,
	`histogram_quantile(0.9, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m])))`,
	`count by (cluster, job) (up)`,
	`avg_over_time(node_memory_Active_bytes[10m])`,
	`sum by (cluster) (process_resident_memory_bytes)`,
	`increase(http_requests_total{handler="/api/orders"}[1h])`,
	`max_over_time(rate(http_requests_total{code="200"}[5m])[30m:1m])`,
	`up{job="api"}`,
}

// reads is what the stores were asked for so far: Series calls and chunk bytes received.
type reads struct{ calls, bytes int64 }

func storeReads(stores []*fanout.Store) reads {
	var r reads
	for _, s := range stores {
		r.calls += s.Stats.SeriesCalls.Load()
		r.bytes += s.Stats.SamplesBytes.Load()
	}
	return r
}

func (r reads) minus(o reads) reads { return reads{r.calls - o.calls, r.bytes - o.bytes} }

// A dashboard of 10 range queries refreshed 5 minutes later: the second pass reads from the
// stores only what evaluating the new 5 minutes alone reads, and answers as the Querier does.
// The dashboard asks with dedup=false: with dedup, the penalty algorithm's choice of replica
// depends on where the data it reads starts, so a range that starts 5 minutes later may get
// other values at a replica switch, from the Querier too (see TestSplitEqualsUnsplit).
func TestCacheRefreshReadsOnlyTheTail(t *testing.T) {
	stores, closeStores := kubeStores(t)
	defer closeStores()
	eng := engine.New(engine.Options{})
	cache, err := frontend.NewResultsCache(1<<30, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	handler := func(c *frontend.ResultsCache) *httptest.Server {
		fe := frontend.New(eng, frontend.Options{SplitInterval: time.Hour, MaxRetries: 5, Cache: c})
		return httptest.NewServer(serve.NewHandler(serve.Options{Stores: stores, Fanout: fanout.Options{
			Dedup: true, ReplicaLabels: []string{"prometheus_replica", "replica"}, DedupAlgorithm: "penalty", ResponseBatchSize: 64,
		}, Engine: eng, Frontend: fe}))
	}
	cached, uncached := handler(cache), handler(nil)
	defer cached.Close()
	defer uncached.Close()
	client := &http.Client{Timeout: time.Minute}
	ask := func(srv *httptest.Server, q string, from, to int64, extra url.Values) *apiResponse {
		form := url.Values{"query": {q}, "start": {secs(from)}, "end": {secs(to)}, "step": {"60"}, "dedup": {"false"}}
		for k, v := range extra {
			form[k] = v
		}
		code, r, body := serveCall(t, client, http.MethodGet, srv.URL+"/api/v1/query_range", form)
		if code != 200 {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		return r
	}
	// Old enough to be final: the cache keeps nothing newer than 10 minutes.
	end := theBed.HistoryEnd - 30*60_000
	start := end - 3*3_600_000
	shift := int64(5 * 60_000)

	before := storeReads(stores)
	for _, q := range dashboard {
		ask(cached, q, start, end, nil)
	}
	first := storeReads(stores).minus(before)

	before = storeReads(stores)
	second := make([]*apiResponse, len(dashboard))
	for i, q := range dashboard {
		second[i] = ask(cached, q, start+shift, end+shift, nil)
	}
	refresh := storeReads(stores).minus(before)

	// The new tail is the points after end: end+1m … end+5m, within one split part.
	before = storeReads(stores)
	for _, q := range dashboard {
		ask(uncached, q, end+60_000, end+shift, nil)
	}
	tail := storeReads(stores).minus(before)
	t.Logf("Series calls (chunk bytes): first pass %d (%d), refresh %d (%d), the new 5 minutes alone %d (%d); cache hits %d, misses %d",
		first.calls, first.bytes, refresh.calls, refresh.bytes, tail.calls, tail.bytes, cache.Hits(), cache.Misses())
	if refresh != tail || refresh.calls == 0 || refresh.calls >= first.calls || refresh.bytes >= first.bytes {
		t.Errorf("the refresh read %+v; the new tail alone reads %+v, the first pass read %+v", refresh, tail, first)
	}
	// The cache answers points up to end from the first pass's parts, each evaluated from its own
	// start, and the rest from the tail evaluated alone; the oracle is the Querier over those same
	// ranges. Where a counter resets within a window of one of their starts, the Querier's own
	// answer depends on where the range starts (see TestSplitEqualsUnsplit), so the refreshed
	// answer equals a fresh evaluation of the shifted range only where the Querier's two answers do.
	cachedRanges := append(frontend.Split(start, end, 60_000, time.Hour), frontend.Part{Start: end + 60_000, End: end + shift})
	startDependent := 0
	for i, q := range dashboard {
		want := oracleRanges(t, theBed.QuerierHTTP, q, cachedRanges, start+shift, 60_000, false)
		if d := diffResults(t, second[i], want, false); d != "" {
			t.Errorf("%s, refreshed from the cache: %s", q, d)
		}
		shifted := oracleParts(t, theBed.QuerierHTTP, q, start+shift, end+shift, 60_000, time.Hour, false)
		if diffResults(t, want, shifted, false) != "" {
			startDependent++
			continue
		}
		if d := diffResults(t, second[i], ask(uncached, q, start+shift, end+shift, nil), false); d != "" {
			t.Errorf("%s, refreshed from the cache vs evaluated whole: %s", q, d)
		}
	}
	if startDependent > 0 {
		t.Logf("%d of %d queries: the Querier's answer depends on the range's start here", startDependent, len(dashboard))
	}

	// Other dedup settings are other answers: nothing cached under dedup=false may serve them.
	before = storeReads(stores)
	got := ask(cached, dashboard[9], start+shift, end+shift, url.Values{"dedup": {"true"}})
	if storeReads(stores) == before {
		t.Error("dedup=true was answered from what dedup=false cached")
	}
	want := oracleParts(t, theBed.QuerierHTTP, dashboard[9], start+shift, end+shift, 60_000, time.Hour, true)
	if d := diffResults(t, got, want, false); d != "" {
		t.Errorf("dedup=true after dedup=false was cached: %s", d)
	}
}
