package bed

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// metrics brings up, per Prometheus pod, a real Prometheus over backfilled
// history with a real Thanos sidecar, then the Thanos Querier over all
// sidecars, and waits until the querier sees every store and live samples.
func (r *run) metrics(ctx context.Context) error {
	errs := make(chan error, len(r.members))
	for _, m := range r.members {
		go func() { errs <- r.member(ctx, m) }()
	}
	var first error
	for range r.members {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	return r.querier(ctx)
}

func (m *member) short() string { return fmt.Sprintf("%s-%d", m.spec.Override, m.ordinal) }

func (r *run) member(ctx context.Context, m *member) error {
	if err := os.MkdirAll(m.tsdb(), 0o755); err != nil {
		return err
	}
	if err := r.backfill(ctx, m); err != nil {
		return fmt.Errorf("backfill %s: %w", m.pod, err)
	}
	cfgPath := filepath.Join(m.dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(r.promConfig(m)), 0o644); err != nil {
		return err
	}
	web := "127.0.0.1:" + strconv.Itoa(m.web)
	prom, err := r.ps.start("prometheus-"+m.short(), r.bin("prometheus"),
		"--config.file", cfgPath,
		"--storage.tsdb.path", m.tsdb(),
		"--storage.tsdb.retention.time=30d",
		// As prometheus-operator sets them when a Thanos sidecar is present:
		// no local compaction beyond 2h blocks.
		"--storage.tsdb.min-block-duration=2h",
		"--storage.tsdb.max-block-duration=2h",
		"--web.listen-address", web,
		"--web.enable-lifecycle",
		"--web.external-url", fmt.Sprintf("http://%s.%s:9090", m.spec.Name(), m.spec.Namespace),
		"--web.route-prefix", "/",
		// Targets are static: no need to wait the default 5s before the
		// first scrape.
		"--scrape.discovery-reload-interval=1s",
	)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 2 * time.Second}
	// The sidecar retries its first contact only after 30s, so it starts
	// once Prometheus answers.
	if err := r.poll(ctx, "prometheus "+m.short()+" ready", []*child{prom}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := get(ctx, c, "http://"+web+"/-/ready")
		return err == nil, err
	}); err != nil {
		return err
	}
	r.log.printf("prometheus %s ready (pid %d)", m.short(), prom.PID)
	sidecar, err := r.ps.start("sidecar-"+m.short(), r.bin("thanos"), "sidecar",
		"--prometheus.url", "http://"+web,
		"--tsdb.path", m.tsdb(),
		"--grpc-address", "127.0.0.1:"+strconv.Itoa(m.grpc),
		"--http-address", "127.0.0.1:"+strconv.Itoa(m.http),
	)
	if err != nil {
		return err
	}
	if err := r.poll(ctx, "sidecar "+m.short()+" ready", []*child{prom, sidecar}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := get(ctx, c, "http://127.0.0.1:"+strconv.Itoa(m.http)+"/-/ready")
		return err == nil, err
	}); err != nil {
		return err
	}
	r.log.printf("sidecar %s ready (pid %d)", m.short(), sidecar.PID)
	return nil
}

// backfill writes the member's history as OpenMetrics and turns it into
// TSDB blocks before Prometheus opens the directory.
func (r *run) backfill(ctx context.Context, m *member) error {
	plans := plansFor(m.spec.Replicas)
	om := filepath.Join(m.dir, "history.om")
	f, err := os.Create(om)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeOpenMetrics(w, m.spec.site, plans[m.ordinal], r.historyStart, r.historyEnd); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	logPath := filepath.Join(r.dir, "logs", "promtool-"+m.short()+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, r.bin("promtool"), "tsdb", "create-blocks-from", "openmetrics", om, m.tsdb())
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("promtool: %w; log %s:\n%s", err, logPath, tail(logPath, 10))
	}
	r.log.printf("history of %s backfilled", m.short())
	return os.Remove(om)
}

// promConfig scrapes, live, every Prometheus and sidecar of the member's own
// Prometheus object, as the operator's ServiceMonitors do: HA replicas then
// hold the same live series and differ only by their external labels.
func (r *run) promConfig(m *member) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 30s
  external_labels:
    cluster: %q
    replica: %q
scrape_configs:
`, m.cluster, m.replicaLbl)
	for _, job := range []struct {
		name, container string
		port            func(*member) int
	}{
		{"prometheus", "prometheus", func(o *member) int { return o.web }},
		{"thanos-sidecar", "thanos-sidecar", func(o *member) int { return o.http }},
	} {
		fmt.Fprintf(&b, "- job_name: %s\n  static_configs:\n", job.name)
		for _, o := range r.members {
			if o.spec != m.spec {
				continue
			}
			fmt.Fprintf(&b, "  - targets: ['127.0.0.1:%d']\n    labels:\n      namespace: %q\n      pod: %q\n      container: %q\n      service: %q\n",
				job.port(o), o.spec.Namespace, o.pod, job.container, "prometheus-operated")
		}
	}
	return b.String()
}

type apiResponse struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

type storeInfo struct {
	Name      string              `json:"name"`
	LastError *string             `json:"lastError"`
	LabelSets []map[string]string `json:"labelSets"`
	MinTime   int64               `json:"minTime"`
	MaxTime   int64               `json:"maxTime"`
}

type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func apiGet(ctx context.Context, c *http.Client, u string, data any) error {
	body, err := get(ctx, c, u)
	if err != nil {
		return err
	}
	var resp apiResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	if resp.Status != "success" {
		return fmt.Errorf("%s: %s", u, resp.Error)
	}
	return json.Unmarshal(resp.Data, data)
}

// query runs an instant PromQL query against a Prometheus-compatible HTTP
// API (the querier, a Prometheus, a sidecar-less endpoint) and returns the
// vector result. extra holds further parameters, e.g. "dedup=false".
func query(ctx context.Context, base, promql string, at time.Time, extra ...string) ([]vectorSample, error) {
	q := url.Values{"query": {promql}}
	if !at.IsZero() {
		q.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	for _, e := range extra {
		if k, v, ok := strings.Cut(e, "="); ok {
			q.Set(k, v)
		}
	}
	var data struct {
		ResultType string         `json:"resultType"`
		Result     []vectorSample `json:"result"`
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if err := apiGet(ctx, c, base+"/api/v1/query?"+q.Encode(), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", promql, data.ResultType)
	}
	return data.Result, nil
}

// scalarOf returns the value of a one-element vector.
func scalarOf(v []vectorSample) (float64, error) {
	if len(v) != 1 {
		return 0, fmt.Errorf("want 1 sample, got %d", len(v))
	}
	s, ok := v[0].Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("unexpected value %v", v[0].Value)
	}
	return strconv.ParseFloat(s, 64)
}

func (r *run) querier(ctx context.Context) error {
	args := []string{"query",
		"--http-address", "127.0.0.1:" + strconv.Itoa(r.queryHTTP),
		"--grpc-address", "127.0.0.1:" + strconv.Itoa(r.queryGRPC),
		"--query.replica-label", "replica",
		"--query.replica-label", "prometheus_replica",
	}
	for _, m := range r.members {
		args = append(args, "--endpoint", "127.0.0.1:"+strconv.Itoa(m.grpc))
	}
	q, err := r.ps.start("querier", r.bin("thanos"), args...)
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(r.queryHTTP)
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	err = r.poll(ctx, "querier to see all stores", []*child{q}, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var stores map[string][]storeInfo
		if err := apiGet(ctx, c, base+"/api/v1/stores", &stores); err != nil {
			return false, err
		}
		healthy := 0
		for _, ss := range stores {
			for _, s := range ss {
				// Skewed replicas scrape first a little after the start.
				if s.LastError == nil && len(s.LabelSets) > 0 && s.MinTime <= r.historyStart+scrapeInterval.Milliseconds() {
					healthy++
				}
			}
		}
		b, _ := json.Marshal(stores)
		last = string(b)
		return healthy == len(r.members), nil
	})
	if err != nil {
		return fmt.Errorf("%w; stores: %.2000s", err, last)
	}
	r.log.printf("querier sees %d stores (pid %d)", len(r.members), q.PID)

	// Each Prometheus's first scrape comes within one interval of its start.
	err = r.poll(ctx, "live samples from every Prometheus", []*child{q}, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		v, err := query(ctx, base, `count by (replica) (up{job="prometheus"})`, time.Time{}, "dedup=false")
		if err != nil {
			return false, err
		}
		return len(v) == len(r.members), nil
	})
	if err != nil {
		return err
	}
	dedup, err := query(ctx, base, "count(up)", time.Time{})
	if err != nil {
		return err
	}
	raw, err := query(ctx, base, "count(up)", time.Time{}, "dedup=false")
	if err != nil {
		return err
	}
	a, err1 := scalarOf(dedup)
	b, err2 := scalarOf(raw)
	if err1 != nil || err2 != nil || a >= b {
		return fmt.Errorf("querier dedup check: count(up) = %v (dedup) vs %v (dedup=false) [%v %v]", a, b, err1, err2)
	}
	r.log.printf("querier: count(up) = %v deduplicated, %v raw", a, b)
	return nil
}
