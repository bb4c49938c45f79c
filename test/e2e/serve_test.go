package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
)

// lockedBuffer is written by the server's goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingRE = regexp.MustCompile(`Serving the Prometheus API over (\d+) stores? on (http://\S+)`)

// server is `kubectl globalquery serve` running in-process.
type server struct {
	url    string
	stderr *lockedBuffer
	stop   func() // cancels the command's context and waits for it to return
}

// startServe runs the serve command through cobra on a free loopback port and waits until it
// says where it listens. The server stops at the end of the test at the latest.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	stderr := &lockedBuffer{}
	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr})
	root.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v\n%s", err, stderr)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("serve did not stop within 30s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(time.Minute)
	for {
		if m := servingRE.FindStringSubmatch(stderr.String()); m != nil {
			return &server{url: m[2], stderr: stderr, stop: stop}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited before listening: %v\n%s", err, stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report its address within a minute:\n%s", stderr)
		}
	}
}

// promtool runs the real promtool and returns its stdout, or stderr and the exit status on failure.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	c := exec.Command(filepath.Join(bed.DefaultBinDir(), "promtool"), args...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		return "promtool failed: " + err.Error() + ": " + errOut.String()
	}
	return out.String()
}

func TestServeAnswersPromtoolLikeTheQuerier(t *testing.T) {
	before := goroutinesNow()
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig, unsplit)
	m := servingRE.FindStringSubmatch(srv.stderr.String())
	if m[1] != "3" {
		t.Fatalf("serving %s stores, the bed has 3:\n%s", m[1], srv.stderr)
	}
	u, err := url.Parse(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" {
		t.Fatalf("listening on %s, want 127.0.0.1", u.Host)
	}
	if strings.Contains(srv.stderr.String(), "Warning") {
		t.Fatalf("warnings on a loopback address:\n%s", srv.stderr)
	}

	at := theBed.HistoryEnd - 60*60_000
	t0, t1 := secs(at-60*60_000), secs(at)
	for _, args := range [][]string{
		{"query", "instant", "--time=" + t1, "SERVER", `count(up) by (cluster)`},
		{"query", "instant", "--time=" + t1, "SERVER", `sum by (cluster) (rate(http_requests_total[5m]))`},
		{"query", "range", "--start=" + t0, "--end=" + t1, "--step=5m", "SERVER", `count(up) by (cluster)`},
		{"query", "range", "--start=" + t0, "--end=" + t1, "--step=1m", "SERVER", `sum by (cluster) (rate(http_requests_total[5m]))`},
		{"query", "series", "--match=up{job=\"api\"}", "--start=" + t0, "--end=" + t1, "SERVER"},
		{"query", "labels", "SERVER", "cluster"},
	} {
		with := func(server string) []string {
			out := slices.Clone(args)
			out[slices.Index(out, "SERVER")] = server
			return out
		}
		ours, theirs := promtool(t, with(srv.url)...), promtool(t, with(theBed.QuerierHTTP)...)
		if ours != theirs {
			t.Errorf("promtool %v:\nours:\n%s\nQuerier:\n%s", args, ours, theirs)
		}
		if strings.HasPrefix(theirs, "promtool failed") || strings.TrimSpace(theirs) == "" {
			t.Errorf("promtool %v against the Querier proves nothing: %q", args, theirs)
		}
	}

	srv.stop()
	before.noneLeft(t, "after serve stopped")
	if _, err := http.Get(srv.url + "/-/ready"); err == nil {
		t.Fatal("still answering after it stopped")
	}
}

// serveCall makes one request and decodes the API body.
func serveCall(t *testing.T, client *http.Client, method, target string, form url.Values) (int, *apiResponse, []byte) {
	t.Helper()
	var (
		resp *http.Response
		err  error
	)
	if method == http.MethodPost {
		resp, err = client.PostForm(target, form)
	} else {
		if form != nil {
			target += "?" + form.Encode()
		}
		resp, err = client.Get(target)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r apiResponse
	if strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
		// Metadata answers carry a bare array as data: only the envelope matters for them.
		if err := json.Unmarshal(body, &r); err != nil && !strings.Contains(target, "/api/v1/series") && !strings.Contains(target, "/api/v1/label") {
			t.Fatalf("%s %s: body %q: %v", method, target, body, err)
		}
	}
	r.raw = body
	return resp.StatusCode, &r, body
}

func TestServeAPI(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig, unsplit)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	at := theBed.HistoryEnd - 60*60_000
	t0, t1 := secs(at-30*60_000), secs(at)

	t.Run("query_range", func(t *testing.T) {
		form := url.Values{"query": {`sum by (cluster) (rate(http_requests_total[5m]))`}, "start": {t0}, "end": {t1}, "step": {"60"}}
		code, got, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query_range", form)
		if code != 200 || got.Status != "success" || got.Data.ResultType != "matrix" {
			t.Fatalf("%d %s", code, body)
		}
		if d := diffResults(t, got, oracle(t, "/api/v1/query_range", form), false); d != "" {
			t.Fatal(d)
		}
	})
	t.Run("query by POST with dedup and replicaLabels[] per request", func(t *testing.T) {
		for _, form := range []url.Values{
			{"query": {`up{job="api"}`}, "time": {t1}},
			{"query": {`up{job="api"}`}, "time": {t1}, "dedup": {"false"}},
			{"query": {`count(up{job="api"})`}, "time": {t1}, "replicaLabels[]": {"prometheus_replica"}},
		} {
			code, got, body := serveCall(t, client, http.MethodPost, srv.url+"/api/v1/query", form)
			if code != 200 || got.Data.ResultType != "vector" {
				t.Fatalf("%v: %d %s", form, code, body)
			}
			if d := diffResults(t, got, oracle(t, "/api/v1/query", form), false); d != "" {
				t.Errorf("%v: %s", form, d)
			}
		}
	})
	t.Run("series", func(t *testing.T) {
		form := url.Values{"match[]": {`up{job="api"}`, `kube_pod_info`}, "start": {t0}, "end": {t1}}
		code, _, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/series", form)
		var got metaResponse
		if err := json.Unmarshal(body, &got); code != 200 || err != nil || got.Status != "success" {
			t.Fatalf("%d %s", code, body)
		}
		var want metaResponse
		if err := json.Unmarshal(oracle(t, "/api/v1/series", form).raw, &want); err != nil {
			t.Fatal(err)
		}
		a, b := canonical(t, got.Data, true), canonical(t, want.Data, true)
		if !slices.Equal(a, b) || len(a) == 0 {
			t.Fatalf("series:\n  ours   %v\n  oracle %v", a, b)
		}
	})
	t.Run("labels and label values", func(t *testing.T) {
		for _, path := range []string{"/api/v1/labels", "/api/v1/label/cluster/values", "/api/v1/label/job/values"} {
			form := url.Values{"start": {t0}, "end": {t1}}
			code, _, body := serveCall(t, client, http.MethodGet, srv.url+path, form)
			var got metaResponse
			if err := json.Unmarshal(body, &got); code != 200 || err != nil || got.Status != "success" {
				t.Fatalf("%s: %d %s", path, code, body)
			}
			var want metaResponse
			if err := json.Unmarshal(oracle(t, path, form).raw, &want); err != nil {
				t.Fatal(err)
			}
			a, b := canonical(t, got.Data, false), canonical(t, want.Data, false)
			if !slices.Equal(a, b) || len(a) == 0 {
				t.Errorf("%s:\n  ours   %v\n  oracle %v", path, a, b)
			}
		}
		code, _, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/label/job/values", url.Values{"limit": {"1"}})
		if code != 200 || !bytes.Contains(body, []byte(`"warnings":["results truncated due to limit"]`)) {
			t.Errorf("limit=1: %d %s", code, body)
		}
	})
	t.Run("buildinfo and probes", func(t *testing.T) {
		code, _, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/status/buildinfo", nil)
		var bi struct {
			Status string `json:"status"`
			Data   struct {
				Version   string `json:"version"`
				GoVersion string `json:"goVersion"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &bi); code != 200 || err != nil || bi.Status != "success" || bi.Data.Version != cmd.Version || bi.Data.GoVersion != runtime.Version() {
			t.Errorf("buildinfo: %d %s", code, body)
		}
		for _, p := range []string{"/-/ready", "/-/healthy"} {
			if code, _, body := serveCall(t, client, http.MethodGet, srv.url+p, nil); code != 200 {
				t.Errorf("%s: %d %s", p, code, body)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		bad := url.Values{"query": {`sum(rate(http_requests_total[5m])`}, "time": {t1}}
		code, got, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query", bad)
		want := oracle(t, "/api/v1/query", bad)
		// The parser's own message, as Prometheus and the Querier give it.
		if code != http.StatusBadRequest || got.Status != "error" || got.ErrorType != "bad_data" || want.Error == "" || !strings.Contains(got.Error, want.Error) {
			t.Errorf("bad query: %d %s; the Querier says %q", code, body, want.Error)
		}
		for _, c := range []struct {
			path    string
			form    url.Values
			code    int
			errType string
		}{
			{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {t1}, "end": {t0}, "step": {"60"}}, 400, "bad_data"},
			{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {t0}, "end": {t1}, "step": {"0"}}, 400, "bad_data"},
			{"/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}, 400, "bad_data"},
			{"/api/v1/query", url.Values{"query": {"up"}, "dedup": {"maybe"}}, 400, "bad_data"},
			{"/api/v1/series", url.Values{}, 400, "bad_data"},
			{"/api/v1/series", url.Values{"match[]": {`{job=~".*"}`}}, 400, "bad_data"},
			{"/api/v1/query", url.Values{"query": {`label_replace(up, "x", "$1", "instance", "(")`}, "time": {t1}}, 422, "execution"},
			{"/api/v1/query", url.Values{"query": {"up"}, "time": {t1}, "timeout": {"0.000001"}}, 503, "timeout"},
		} {
			code, got, body := serveCall(t, client, http.MethodGet, srv.url+c.path, c.form)
			if code != c.code || got.Status != "error" || got.ErrorType != c.errType || got.Error == "" {
				t.Errorf("%s %v: %d %s, want %d %s", c.path, c.form, code, body, c.code, c.errType)
			}
		}
	})
	// Grafana asks for every panel at once: answers must not mix.
	t.Run("concurrent requests", func(t *testing.T) {
		exprs := []string{
			`sum by (cluster) (rate(http_requests_total[5m]))`,
			`histogram_quantile(0.9, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m])))`,
			`count by (cluster, job) (up)`,
			`max_over_time(process_resident_memory_bytes[10m])`,
		}
		forms := make([]url.Values, 0, 2*len(exprs))
		for range 2 {
			for _, e := range exprs {
				forms = append(forms, url.Values{"query": {e}, "start": {t0}, "end": {t1}, "step": {"30"}})
			}
		}
		bodies := make([][]byte, len(forms))
		codes := make([]int, len(forms))
		var wg sync.WaitGroup
		for i, f := range forms {
			wg.Go(func() {
				resp, err := client.PostForm(srv.url+"/api/v1/query_range", f)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				codes[i] = resp.StatusCode
				bodies[i], _ = io.ReadAll(resp.Body)
			})
		}
		wg.Wait()
		for i, f := range forms {
			if codes[i] != 200 {
				t.Fatalf("%s: %d %s", f.Get("query"), codes[i], bodies[i])
			}
			if d := diffResults(t, decode(t, bodies[i]), oracle(t, "/api/v1/query_range", f), false); d != "" {
				t.Errorf("%s: %s", f.Get("query"), d)
			}
		}
	})
	t.Run("foreign Host refused on loopback", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.url+"/api/v1/labels", nil)
		req.Host = "attacker.example"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d for Host %s", resp.StatusCode, req.Host)
		}
	})
}

// A store that dies while serving fails the next query at once with 503 and the store's name;
// partial_response=true answers from the others, as a request may ask of a Querier.
func TestServeStoreGone(t *testing.T) {
	proxy := startProxy(t, theBed.Stores[0].SidecarGRPC)
	args := []string{"--endpoint", proxy.addr()}
	for _, s := range theBed.Stores {
		args = append(args, "--endpoint", s.SidecarGRPC)
	}
	srv := startServe(t, args...)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	form := url.Values{"query": {`sum by (cluster) (rate(http_requests_total[5m]))`}, "time": {secs(theBed.HistoryEnd - 20*60_000)}}
	if code, _, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query", form); code != 200 {
		t.Fatalf("with every store up: %d %s", code, body)
	}
	proxy.kill()

	start := time.Now()
	code, got, body := serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query", form)
	if code != http.StatusServiceUnavailable || got.ErrorType != "unavailable" || !strings.Contains(got.Error, proxy.addr()) {
		t.Fatalf("with a store gone: %d %s", code, body)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("a dead store took %s to report", d)
	}
	// A Grafana user is told what to change in the request, not a flag of the command line.
	if !strings.Contains(got.Error, "use partial_response=true") || cliFlag.MatchString(got.Error) {
		t.Errorf("the error speaks to a command line, not to an API client: %s", got.Error)
	}
	form.Set("partial_response", "true")
	code, got, body = serveCall(t, client, http.MethodGet, srv.url+"/api/v1/query", form)
	if code != 200 || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], proxy.addr()) {
		t.Fatalf("partial_response=true: %d %s", code, body)
	}
	if d := diffResults(t, got, oracle(t, "/api/v1/query", form), false); d != "" {
		t.Fatalf("partial answer: %s", d)
	}
}

// cliFlag is a command-line flag not spoken as part of "serve --flag".
var cliFlag = regexp.MustCompile(`(^|[^e] )--[a-z]`)

func TestServeListenFlag(t *testing.T) {
	serveCmd, _, err := cmd.NewRootCommand(genericiooptions.NewTestIOStreamsDiscard()).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if def := serveCmd.Flags().Lookup("listen").DefValue; def != "127.0.0.1:9091" {
		t.Fatalf("--listen defaults to %s", def)
	}
	// Nothing answers on port 1, so the command stops after warning, without serving.
	_, stderr, err := runCLI(t, "serve", "--listen", "0.0.0.0:0", "--endpoint", "127.0.0.1:1", "--connect-timeout", "2s")
	if err == nil || !strings.Contains(stderr, "not a loopback address") || !strings.Contains(stderr, "credentials") {
		t.Fatalf("non-loopback --listen: %v\n%s", err, stderr)
	}
	if _, stderr, err := runCLI(t, "serve", "--listen", "9091"); err == nil || cmd.ExitCode(err) != 2 {
		t.Fatalf("--listen without a host: %v\n%s", err, stderr)
	}
}
