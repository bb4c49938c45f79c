package e2e

import (
	"testing"
	"time"
)

// --store-timeout is the Querier's --store.response-timeout: it bounds how long a store may stay
// silent, not how long its whole answer takes. A sidecar behind a 100 KB/s link sends its
// 200–400 KB answer for several seconds, one series per message (a few KB each, where a batch of
// 64 would itself take seconds), so it is never silent for 2 s: the answer must be the Querier's,
// whole and without a warning, although it took longer than the timeout.
func TestStoreTimeoutSparesSteadyStore(t *testing.T) {
	tp := startToxiproxy(t)
	var endpoints []string
	for i, s := range theBed.Stores {
		addr := s.SidecarGRPC
		if i == 1 {
			p := tp.proxy(t, "steady", s.SidecarGRPC)
			if err := p.add(toxic{Name: "steady", Type: "bandwidth", Attributes: map[string]int{"rate": 100}}); err != nil {
				t.Fatal(err)
			}
			addr = p.addr
		}
		endpoints = append(endpoints, "--endpoint", addr)
	}
	var q toxicQuery
	for _, c := range toxicQueries() {
		if c.name == "range/dedup=false" {
			q = c
		}
	}
	want := oracleAnswers(t, theBed.QuerierHTTP, []toxicQuery{q})[q.name]
	const timeout = 2 * time.Second
	args := append(append([]string{}, q.args...), "-o", "json", "--split-interval=0", "--series-batch-size=0", "--store-timeout="+timeout.String())
	start := time.Now()
	out, stderr, err := runCLI(t, append(args, endpoints...)...)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("a slow but steady store was given up on: %v\n%s", err, stderr)
	}
	got, err := decodeAnswer(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) > 0 {
		t.Fatalf("warnings %q, want the whole answer", got.Warnings)
	}
	if d := compareAnswers(got, want, false); d != "" {
		t.Fatalf("another answer than the Querier's: %s", d)
	}
	if took < timeout {
		// Not a speed check: a link that carried the answer within the timeout tested nothing.
		t.Fatalf("the answer took %s, less than --store-timeout %s: the link was not slow enough to test anything", took, timeout)
	}
	t.Logf("whole answer in %s through the slow link, --store-timeout %s", took.Round(time.Millisecond), timeout)
}
