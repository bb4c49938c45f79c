package e2e

import (
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
)

// nested is a query of n parentheses around 1: the shape that made the parser spend seconds and
// hundreds of MB, and cannot be cancelled once it parses.
func nested(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }

// Queries far past the limits are refused by serve at once, as bad_data naming the limit,
// without the parser's time or memory; serve keeps answering afterwards.
func TestServeRefusesHugeQueries(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	// A hang guard, far above what a refusal takes and far below what parsing 100,000 levels did.
	client := &http.Client{Timeout: 30 * time.Second}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, c := range []struct {
		path, query, msg string
	}{
		{"/api/v1/query", nested(100_000), "query is 200001 bytes long; the limit is 131072 bytes (128 KiB)"},
		{"/api/v1/query", nested(30_000), "more than 256 levels deep (at byte 256); the limit is 256 levels"},
		{"/api/v1/query_range", strings.Repeat("-", 200_000) + "up", "query is 200002 bytes long"},
		{"/api/v1/query_range", strings.Repeat("-", 60_000) + "up", "the limit is 256 levels"},
	} {
		form := url.Values{"query": {c.query}, "start": {"0"}, "end": {"600"}, "step": {"60"}}
		code, r, body := serveCall(t, client, http.MethodPost, srv.url+c.path, form)
		if code != http.StatusBadRequest || r.Status != "error" || r.ErrorType != "bad_data" ||
			!strings.HasPrefix(r.Error, `invalid parameter "query": `) || !strings.Contains(r.Error, c.msg) {
			t.Errorf("%s, %d bytes: %d %.300s, want bad_data saying %q", c.path, len(c.query), code, body, c.msg)
		}
	}
	runtime.ReadMemStats(&after)
	// The forms themselves are 100s of KB; parsing the 30,000 levels alone allocated 380 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("refusing the queries allocated %d MB", alloc>>20)
	}
	code, r, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query", url.Values{"query": {nested(256) + " * count(up)"}})
	if code != http.StatusOK || r.Status != "success" {
		t.Errorf("a query at the limit: %d %.300s", code, body)
	}
}

// The command refuses them too, as bad input naming the limit, before connecting anywhere.
func TestQueryRefusesHugeQueries(t *testing.T) {
	for q, want := range map[string]string{
		nested(100_000): "the limit is 131072 bytes (128 KiB)",
		nested(30_000):  "the limit is 256 levels",
	} {
		_, _, err := runCLI(t, q, "--kubeconfig="+theBed.Kubeconfig)
		if err == nil || cmd.ExitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("%d bytes: %v (exit %d), want exit 2 saying %q", len(q), err, cmd.ExitCode(err), want)
		}
	}
}

// An API server whose connections are reset fails discovery with our own words: which API
// server, what to check; not client-go's retries ending in a bare network error.
func TestDiscoveryResetNamesTheAPIServer(t *testing.T) {
	tp := startToxiproxy(t)
	p := tp.proxy(t, "api_reset_discovery", hostPort(t, theBed.APIServer))
	if err := p.add(toxic{Name: "reset", Type: "reset_peer", Attributes: map[string]int{"timeout": 0}}); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "up", "--kubeconfig="+kubeconfigVia(t, p.addr))
	if err == nil {
		t.Fatal("succeeded through a link that resets every connection")
	}
	msg := err.Error()
	for _, want := range []string{"the connection to the API server at https://" + p.addr, "during discovery", "get --raw /readyz", "VPN, proxy or load balancer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	for _, raw := range []string{"connection reset by peer", `Get "`, "EOF"} {
		if strings.Contains(msg, raw) {
			t.Errorf("%q shows %q", msg, raw)
		}
	}
	if m := rawText.FindString(msg); m != "" {
		t.Errorf("%q shows internals (%q)", msg, m)
	}
}
