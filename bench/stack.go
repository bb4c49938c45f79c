package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// store is one Prometheus with its Thanos sidecar, both on 127.0.0.1.
type store struct {
	name            string
	grpc, http, web string // host:port
	prom, sidecar   *proc
}

// startStore runs a Prometheus over tsdbDir (blocks already in place) with the given external
// labels and no scrape targets, then its sidecar, and waits until the sidecar is ready.
func startStore(ctx context.Context, ps *procs, bins, name, dir string, ext map[string]string) (*store, error) {
	ports, err := supervise.FreePorts(3)
	if err != nil {
		return nil, err
	}
	s := &store{
		name: name,
		web:  "127.0.0.1:" + strconv.Itoa(ports[0]),
		grpc: "127.0.0.1:" + strconv.Itoa(ports[1]),
		http: "127.0.0.1:" + strconv.Itoa(ports[2]),
	}
	cfg := "global:\n  external_labels:\n"
	for k, v := range ext {
		cfg += fmt.Sprintf("    %s: %q\n", k, v)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	tsdb := filepath.Join(dir, "data")
	s.prom, err = ps.start("prometheus-"+name, nil, filepath.Join(bins, "prometheus"),
		"--config.file", cfgPath,
		"--storage.tsdb.path", tsdb,
		// The generated history is reused across runs and may be weeks old by then.
		"--storage.tsdb.retention.time=10y",
		// As with a sidecar in kube-prometheus-stack: blocks stay 2h, nothing compacts them.
		"--storage.tsdb.min-block-duration=2h",
		"--storage.tsdb.max-block-duration=2h",
		"--web.listen-address", s.web,
	)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if err := poll(ctx, "prometheus "+name+" ready", []*proc{s.prom}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		return httpOK(ctx, c, "http://"+s.web+"/-/ready")
	}); err != nil {
		return nil, err
	}
	s.sidecar, err = ps.start("sidecar-"+name, nil, filepath.Join(bins, "thanos"), "sidecar",
		"--prometheus.url", "http://"+s.web,
		"--tsdb.path", tsdb,
		"--grpc-address", s.grpc,
		"--http-address", s.http,
	)
	if err != nil {
		return nil, err
	}
	if err := poll(ctx, "sidecar "+name+" ready", []*proc{s.prom, s.sidecar}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		return httpOK(ctx, c, "http://"+s.http+"/-/ready")
	}); err != nil {
		return nil, err
	}
	return s, nil
}

func httpOK(ctx context.Context, c *http.Client, u string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// querier is a Thanos Querier over some sidecars, configured as the bed's oracle.
type querier struct {
	p    *proc
	base string // http://127.0.0.1:port
	c    *http.Client
}

func startQuerier(ctx context.Context, ps *procs, bins, name string, endpoints []string) (*querier, error) {
	ports, err := supervise.FreePorts(2)
	if err != nil {
		return nil, err
	}
	args := []string{"query",
		"--http-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--grpc-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--query.replica-label", "replica",
		"--query.replica-label", "prometheus_replica",
	}
	for _, e := range endpoints {
		args = append(args, "--endpoint", e)
	}
	p, err := ps.start(name, nil, filepath.Join(bins, "thanos"), args...)
	if err != nil {
		return nil, err
	}
	q := &querier{p: p, base: "http://127.0.0.1:" + strconv.Itoa(ports[0]), c: &http.Client{}}
	c := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, name+" to see every store", []*proc{p}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		var stores map[string][]struct {
			LastError *string           `json:"lastError"`
			LabelSets []json.RawMessage `json:"labelSets"`
		}
		if err := apiGet(ctx, c, q.base+"/api/v1/stores", &stores); err != nil {
			return false, err
		}
		healthy := 0
		for _, ss := range stores {
			for _, s := range ss {
				if s.LastError == nil && len(s.LabelSets) > 0 {
					healthy++
				}
			}
		}
		return healthy == len(endpoints), nil
	})
	if err != nil {
		ps.stop(p, 5*time.Second)
		return nil, err
	}
	return q, nil
}

// promQuery is one query as both sides get it: instant at Time, or a range.
type promQuery struct {
	Expr        string
	Time        time.Time // instant when Start is zero
	Start, End  time.Time
	Step        time.Duration
	Description string
}

func (q promQuery) isRange() bool { return !q.Start.IsZero() }

func unixSec(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

// run asks the Querier's HTTP API and returns the response body once it has all arrived.
func (q *querier) run(ctx context.Context, pq promQuery) ([]byte, time.Duration, error) {
	v := url.Values{"query": {pq.Expr}}
	path := "/api/v1/query"
	if pq.isRange() {
		path = "/api/v1/query_range"
		v.Set("start", unixSec(pq.Start))
		v.Set("end", unixSec(pq.End))
		v.Set("step", strconv.FormatFloat(pq.Step.Seconds(), 'f', -1, 64))
	} else {
		v.Set("time", unixSec(pq.Time))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.URL.RawQuery = v.Encode()
	start := time.Now()
	resp, err := q.c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return nil, d, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, d, fmt.Errorf("querier: %s: %.300s", resp.Status, body)
	}
	return body, d, nil
}

func apiGet(ctx context.Context, c *http.Client, u string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s", u, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// resultSize is the number of series (or 1 for a scalar) in a Prometheus API response body; it
// tells whether both sides answered alike without comparing values.
func resultSize(body []byte) (int, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("status %s: %s", r.Status, r.Error)
	}
	switch r.Data.ResultType {
	case "scalar", "string":
		return 1, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(r.Data.Result, &items); err != nil {
		return 0, err
	}
	return len(items), nil
}

// firstValue is the value of the first sample of an instant vector response, as text.
func firstValue(body []byte) string {
	var r struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Data.Result) == 0 || len(r.Data.Result[0].Value) < 2 {
		return "?"
	}
	return fmt.Sprint(r.Data.Result[0].Value[1])
}

// startServe runs the plugin's `serve` over the same StoreAPI endpoints: a long-running server
// answering the same HTTP API, the like-for-like counterpart of the Querier. Its results cache is
// off, as the Querier has none, and ranges are not split (the Querier does not split either).
func startServe(ctx context.Context, ps *procs, plugin, name string, endpoints []string) (*querier, error) {
	ports, err := supervise.FreePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := append([]string{"serve", "--listen", addr, "--no-cache", "--split-interval", "0", "-q"}, endpointArgs(endpoints)...)
	p, err := ps.start(name, nil, plugin, args...)
	if err != nil {
		return nil, err
	}
	q := &querier{p: p, base: "http://" + addr, c: &http.Client{}}
	c := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, name+" to listen", []*proc{p}, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		var info json.RawMessage
		if err := apiGet(ctx, c, q.base+"/api/v1/status/buildinfo", &info); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		ps.stop(p, 5*time.Second)
		return nil, err
	}
	return q, nil
}
