package bed

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// metrics brings up the scrape target, per Prometheus pod a real Prometheus
// over backfilled history with a real Thanos sidecar, a Thanos Store Gateway
// over a bucket of blocks, then the Thanos Queriers over them, and waits
// until the queriers see every store and the live samples are in.
func (r *run) metrics(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.histogramTarget(ctx); err != nil {
		return err
	}
	errs := make(chan error, len(r.members)+1)
	for _, m := range r.members {
		go func() { errs <- r.member(ctx, m) }()
	}
	go func() { errs <- r.storeGateway(ctx) }()
	var first error
	for range len(r.members) + 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
			// The store gateway waits on a member's blocks: do not leave it
			// waiting for a member that failed.
			cancel()
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
	if m == r.bucketSource() {
		// Before Prometheus opens the directory, as a sidecar uploads
		// blocks that no longer change.
		err := r.copyToBucket(m)
		r.bucketCopied <- err
		if err != nil {
			return fmt.Errorf("copy %s's blocks to the bucket: %w", m.pod, err)
		}
	}
	cfgPath := filepath.Join(m.dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(r.promConfig(m)), 0o644); err != nil {
		return err
	}
	if err := writeRules(r.rulesFile(m), ruleGroups(m)); err != nil {
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
		// Exemplars, as traced services expose them, for the exemplars API.
		"--enable-feature=exemplar-storage",
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
	err := r.blocks(ctx, m.short(), filepath.Join(m.dir, "history.om"), m.tsdb(), func(w io.Writer) error {
		return writeOpenMetrics(w, m.spec.site, plans[m.ordinal], r.historyStart, r.historyEnd, r.planSpan)
	})
	if err != nil {
		return err
	}
	r.log.printf("history of %s backfilled", m.short())
	return nil
}

// blocks writes OpenMetrics text to om with write and has promtool turn it
// into TSDB blocks in out; name tells the promtool log apart.
func (r *run) blocks(ctx context.Context, name, om, out string, write func(io.Writer) error) error {
	f, err := os.Create(om)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
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
	logPath := filepath.Join(r.dir, "logs", "promtool-"+name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, r.bin("promtool"), "tsdb", "create-blocks-from", "openmetrics", om, out)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("promtool: %w; log %s:\n%s", err, logPath, supervise.Tail(logPath, 10))
	}
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
rule_files:
- %s
scrape_configs:
`, m.cluster, m.replicaLbl, r.rulesFile(m))
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
	b.WriteString(r.liveJobs(m))
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

// querier starts two Thanos Queriers: the oracle over the sidecars, which
// see what the plugin finds through kube, and one over the sidecars and the
// store gateway. They cannot be one: for the range both hold, the store
// gateway sends europe replica 0's chunks whole while the sidecar trims them
// to the query, and the Querier's deduplication, which splits overlapping
// chunks into pseudo replicas and follows whichever starts first, then
// picks other samples than from the sidecars alone.
func (r *run) querier(ctx context.Context) error {
	sg := "127.0.0.1:" + strconv.Itoa(r.storeGRPC)
	q, err := r.startQuerier("querier", r.queryHTTP, r.queryGRPC, "")
	if err != nil {
		return err
	}
	all, err := r.startQuerier("querier-all", r.queryAllHTTP, r.queryAllGRPC, sg)
	if err != nil {
		return err
	}
	watch := []*child{q, all}
	base := "http://127.0.0.1:" + strconv.Itoa(r.queryHTTP)
	allBase := "http://127.0.0.1:" + strconv.Itoa(r.queryAllHTTP)
	if err := r.waitStores(ctx, "querier", base, watch, ""); err != nil {
		return err
	}
	if err := r.waitStores(ctx, "querier-all", allBase, watch, sg); err != nil {
		return err
	}
	r.log.printf("queriers see %d sidecars, and the store gateway (pids %d, %d)", len(r.members), q.PID, all.PID)

	// Each Prometheus's first scrape comes within one interval of its start.
	err = r.poll(ctx, "live samples from every Prometheus", watch, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		v, err := query(ctx, base, `count by (replica) (up{job="prometheus"})`, time.Time{}, "dedup=false")
		if err != nil {
			return false, err
		}
		return len(v) == len(r.members), nil
	})
	if err != nil {
		return err
	}
	err = r.poll(ctx, "native histograms from every Prometheus", watch, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		v, err := query(ctx, base, `count by (replica) (rpc_duration_seconds)`, time.Time{}, "dedup=false")
		if err != nil {
			return false, err
		}
		return len(v) == len(r.members), nil
	})
	if err != nil {
		return err
	}
	if r.ephemeralEnd, err = r.waitEphemeralGone(ctx, watch); err != nil {
		return err
	}
	r.log.printf("ephemeral series ended (last sample %s)", time.UnixMilli(r.ephemeralEnd).Format("15:04:05.000"))
	for _, b := range []string{base, allBase} {
		dedup, err := query(ctx, b, "count(up)", time.Time{})
		if err != nil {
			return err
		}
		raw, err := query(ctx, b, "count(up)", time.Time{}, "dedup=false")
		if err != nil {
			return err
		}
		x, err1 := scalarOf(dedup)
		y, err2 := scalarOf(raw)
		if err1 != nil || err2 != nil || x >= y {
			return fmt.Errorf("querier %s dedup check: count(up) = %v (dedup) vs %v (dedup=false) [%v %v]", b, x, y, err1, err2)
		}
		r.log.printf("querier %s: count(up) = %v deduplicated, %v raw", b, x, y)
	}
	return nil
}

// startQuerier runs a Thanos Querier over every sidecar and, unless empty,
// the extra endpoint.
func (r *run) startQuerier(name string, httpPort, grpcPort int, extra string) (*child, error) {
	args := []string{"query",
		"--http-address", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--grpc-address", "127.0.0.1:" + strconv.Itoa(grpcPort),
		"--query.replica-label", "replica",
		"--query.replica-label", "prometheus_replica",
	}
	for _, m := range r.members {
		args = append(args, "--endpoint", "127.0.0.1:"+strconv.Itoa(m.grpc))
	}
	if extra != "" {
		args = append(args, "--endpoint", extra)
	}
	return r.ps.start(name, r.bin("thanos"), args...)
}

// waitStores waits until the querier at base has every sidecar, with its
// history, and the extra store (if not empty) with the whole bucket.
func (r *run) waitStores(ctx context.Context, name, base string, watch []*child, extra string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	err := r.poll(ctx, name+" to see all stores", watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var stores map[string][]storeInfo
		if err := apiGet(ctx, c, base+"/api/v1/stores", &stores); err != nil {
			return false, err
		}
		healthy, bucket := 0, extra == ""
		for _, ss := range stores {
			for _, s := range ss {
				switch {
				case s.LastError != nil || len(s.LabelSets) == 0:
				case s.Name == extra:
					bucket = s.MinTime <= r.bucketStart
				// Skewed replicas scrape first a little after the start.
				case s.MinTime <= r.historyStart+scrapeInterval.Milliseconds():
					healthy++
				}
			}
		}
		b, _ := json.Marshal(stores)
		last = string(b)
		return healthy == len(r.members) && bucket, nil
	})
	if err != nil {
		return fmt.Errorf("%w; stores: %.2000s", err, last)
	}
	return nil
}
