package bed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBed starts a whole bed and checks it from the outside: through
// kubectl, as the plugin's users see the cluster, and through the querier.
func TestBed(t *testing.T) {
	binDir := DefaultBinDir()
	need := append(Missing(binDir), missingFrom(binDir, "kubectl")...)
	if len(need) > 0 {
		t.Skipf("test bed needs %s in %s (build them with hack/build-tool.sh)", strings.Join(need, ", "), binDir)
	}
	if testing.Short() {
		t.Skip("starts a whole bed; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	st, err := Up(ctx, Config{Dir: t.TempDir(), BinDir: binDir, HistoryHours: 3, Log: testLog{t}})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Logf("Up took %v", time.Since(start).Round(100*time.Millisecond))
	downed := false
	defer func() {
		if !downed {
			_ = st.Down()
		}
	}()

	loaded, err := Load(st.Dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if loaded.QuerierHTTP != st.QuerierHTTP || len(loaded.Stores) != 3 || len(loaded.PIDs) == 0 {
		t.Fatalf("Load returned %+v", loaded)
	}

	kubectl := func(args ...string) []byte {
		t.Helper()
		out, err := exec.CommandContext(ctx, filepath.Join(binDir, "kubectl"),
			append([]string{"--kubeconfig", st.Kubeconfig}, args...)...).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("kubectl %v: %v\n%s", args, err, ee.Stderr)
			}
			t.Fatalf("kubectl %v: %v", args, err)
		}
		return out
	}

	var pods struct {
		Items []struct {
			Metadata struct {
				Name, Namespace string
				Labels          map[string]string
			}
			Spec struct {
				NodeName string
			}
			Status struct {
				Phase      string
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if err := json.Unmarshal(kubectl("get", "pods", "-A", "-o", "json"), &pods); err != nil {
		t.Fatal(err)
	}
	var running []string
	for _, p := range pods.Items {
		if p.Metadata.Labels["app.kubernetes.io/name"] != "prometheus" {
			continue
		}
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				ready = true
			}
		}
		if p.Status.Phase == "Running" && ready && p.Metadata.Labels["operator.prometheus.io/name"] != "" {
			running = append(running, p.Metadata.Namespace+"/"+p.Metadata.Name)
		}
	}
	sort.Strings(running)
	wantPods := []string{
		"europe/prometheus-prometheus-europe-eu-prometheus-0",
		"europe/prometheus-prometheus-europe-eu-prometheus-1",
		"united-states/prometheus-prometheus-united-states-us-prometheus-0",
	}
	if strings.Join(running, " ") != strings.Join(wantPods, " ") {
		t.Errorf("Running and Ready prometheus pods = %v, want %v", running, wantPods)
	}

	var slices struct {
		Items []struct {
			Metadata struct{ Namespace string }
			Ports    []struct {
				Name string
				Port int
			}
			Endpoints []struct {
				Conditions struct{ Ready *bool }
				TargetRef  struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(kubectl("get", "endpointslices", "-A", "-l", "kubernetes.io/service-name=prometheus-operated", "-o", "json"), &slices); err != nil {
		t.Fatal(err)
	}
	var inSlices []string
	for _, s := range slices.Items {
		grpc := false
		for _, p := range s.Ports {
			grpc = grpc || (p.Name == "grpc" && p.Port == 10901)
		}
		if !grpc {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				inSlices = append(inSlices, s.Metadata.Namespace+"/"+e.TargetRef.Name)
			}
		}
	}
	sort.Strings(inSlices)
	if strings.Join(inSlices, " ") != strings.Join(wantPods, " ") {
		t.Errorf("ready endpoints with grpc 10901 in prometheus-operated slices = %v, want %v", inSlices, wantPods)
	}

	dedup, err := query(ctx, st.QuerierHTTP, "count(up)", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := query(ctx, st.QuerierHTTP, "count(up)", time.Time{}, "dedup=false")
	if err != nil {
		t.Fatal(err)
	}
	a, errA := scalarOf(dedup)
	b, errB := scalarOf(raw)
	if errA != nil || errB != nil || !(a < b) {
		t.Errorf("count(up) = %v deduplicated, %v raw (%v, %v); want fewer with dedup", a, b, errA, errB)
	}
	// The backfilled range holds data from every Prometheus.
	mid := time.UnixMilli(st.At(0.5))
	perReplica, err := query(ctx, st.QuerierHTTP, `count by (replica) (up{job="node-exporter"})`, mid, "dedup=false")
	if err != nil {
		t.Fatal(err)
	}
	if len(perReplica) != 3 {
		t.Errorf("backfilled up at %v: %d replicas, want 3: %v", mid, len(perReplica), perReplica)
	}

	checkStoreGateway(t, ctx, st)
	checkNativeHistograms(t, ctx, st)
	checkEphemeral(t, ctx, st)

	pids := st.PIDs
	if err := st.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	downed = true
	for _, pid := range pids {
		if alive(Proc{PID: pid}) {
			t.Errorf("pid %d still alive after Down", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(st.Dir, pidsFile)); !os.IsNotExist(err) {
		t.Errorf("pids file left after Down: %v", err)
	}
}

func missingFrom(dir string, names ...string) []string {
	var out []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			out = append(out, n)
		}
	}
	return out
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkStoreGateway: the store gateway answers with europe replica 0's
// external labels over the bucket's range, only querier-all has it, the
// older history is there only, and the copy of the sidecar's blocks merges
// with the sidecar's data without duplicates.
func checkStoreGateway(t *testing.T, ctx context.Context, st *State) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	if _, err := get(ctx, c, st.StoreGatewayHTTP+"/-/ready"); err != nil {
		t.Errorf("store gateway not ready: %v", err)
	}
	var stores, sidecarsOnly map[string][]storeInfo
	if err := apiGet(ctx, c, st.QuerierAllHTTP+"/api/v1/stores", &stores); err != nil {
		t.Fatal(err)
	}
	if err := apiGet(ctx, c, st.QuerierHTTP+"/api/v1/stores", &sidecarsOnly); err != nil {
		t.Fatal(err)
	}
	if n := len(sidecarsOnly["store"]); n != 0 || len(sidecarsOnly["sidecar"]) != len(st.Stores) {
		t.Errorf("the oracle querier has %d sidecars and %d other stores, want only the sidecars", len(sidecarsOnly["sidecar"]), n)
	}
	eu0 := st.Stores[0]
	var sg *storeInfo
	for _, s := range stores["store"] {
		if s.Name == st.StoreGateway {
			sg = &s
		}
	}
	switch {
	case sg == nil:
		t.Errorf("querier-all does not list the store gateway %s: %+v", st.StoreGateway, stores)
	case len(sg.LabelSets) != 1 || sg.LabelSets[0]["cluster"] != eu0.Cluster || sg.LabelSets[0]["replica"] != eu0.Replica:
		t.Errorf("store gateway labels %v, want those of %s", sg.LabelSets, eu0.Pod)
	case sg.MinTime != st.BucketStart || sg.MaxTime <= st.HistoryEnd:
		t.Errorf("store gateway range [%d, %d], want [%d, > %d]", sg.MinTime, sg.MaxTime, st.BucketStart, st.HistoryEnd)
	}
	if want := st.HistoryStart - olderSpan.Milliseconds(); st.BucketStart != want {
		t.Errorf("BucketStart %d, want %d", st.BucketStart, want)
	}

	older := time.UnixMilli(st.BucketStart + time.Hour.Milliseconds())
	v, err := query(ctx, st.QuerierAllHTTP, `count(http_requests_total)`, older, "dedup=false")
	if n, _ := scalarOf(v); err != nil || n < 10 {
		t.Errorf("older history through the querier: %v %v", v, err)
	}
	if v, err := query(ctx, eu0.PrometheusURL, `count(http_requests_total)`, older); err != nil || len(v) != 0 {
		t.Errorf("prometheus %s has data at %v: %v %v", eu0.Pod, older, v, err)
	}

	mid := time.UnixMilli(st.At(0.5))
	both, err1 := query(ctx, st.QuerierAllHTTP, fmt.Sprintf(`sum(http_requests_total{replica=%q})`, eu0.Replica), mid, "dedup=false")
	one, err2 := query(ctx, eu0.PrometheusURL, `sum(http_requests_total)`, mid)
	a, errA := scalarOf(both)
	b, errB := scalarOf(one)
	if err := errors.Join(err1, err2, errA, errB); err != nil || a != b {
		t.Errorf("replica 0 through sidecar and bucket: sum %v, its Prometheus %v (%v)", a, b, err)
	}
}

// checkNativeHistograms: every Prometheus scraped native histograms, and a
// quantile over their rate comes out once two scrapes are in.
func checkNativeHistograms(t *testing.T, ctx context.Context, st *State) {
	t.Helper()
	var raw struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric    map[string]string `json:"metric"`
			Histogram []any             `json:"histogram"`
		} `json:"result"`
	}
	c := &http.Client{Timeout: 5 * time.Second}
	u := st.QuerierHTTP + "/api/v1/query?" + url.Values{"query": {"rpc_duration_seconds"}, "dedup": {"false"}}.Encode()
	if err := apiGet(ctx, c, u, &raw); err != nil {
		t.Fatal(err)
	}
	replicas := map[string]int{}
	for _, r := range raw.Result {
		if len(r.Histogram) != 2 {
			t.Errorf("%v: not a histogram sample", r.Metric)
		}
		replicas[r.Metric["replica"]]++
	}
	if len(replicas) != len(st.Stores) {
		t.Errorf("native histograms from %d replicas, want %d: %v", len(replicas), len(st.Stores), replicas)
	}
	for rep, n := range replicas {
		if n != 3 {
			t.Errorf("%s: %d rpc_duration_seconds series, want one per service", rep, n)
		}
	}
	if v, err := query(ctx, st.QuerierHTTP, `count(rpc_classic_duration_seconds_bucket)`, time.Time{}, "dedup=false"); err != nil || len(v) != 1 {
		t.Errorf("classic histogram: %v %v", v, err)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := query(ctx, st.QuerierHTTP, `histogram_quantile(0.9, rate(rpc_duration_seconds[1m]))`, time.Time{})
		ok := err == nil && len(v) == 6 // three services in each of two clusters
		for _, s := range v {
			f, perr := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
			ok = ok && perr == nil && f > 0 && !math.IsNaN(f) && !math.IsInf(f, 0)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("histogram_quantile over native histograms: %v %v", v, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkEphemeral: the short-lived job's series have all their samples, none
// after EphemeralEnd, and are gone at now on every Prometheus that scraped
// them although their last sample is well inside the lookback, which only
// a staleness marker does.
func checkEphemeral(t *testing.T, ctx context.Context, st *State) {
	t.Helper()
	if st.EphemeralEnd <= st.Started.UnixMilli() {
		t.Errorf("EphemeralEnd %d is before the start", st.EphemeralEnd)
	}
	if age := time.Now().UnixMilli() - st.EphemeralEnd; age > 4*time.Minute.Milliseconds() {
		t.Fatalf("ephemeral series ended %v ago, too close to the lookback to prove staleness", time.Duration(age)*time.Millisecond)
	}
	for _, s := range st.Stores {
		if s.Namespace != "europe" {
			continue
		}
		now, err := query(ctx, s.PrometheusURL, `{__name__=~"ephemeral_.*"}`, time.Time{})
		if err != nil || len(now) != 0 {
			t.Errorf("%s: ephemeral series at now: %v %v", s.Pod, now, err)
		}
		raw, err := rawSamples(ctx, s.PrometheusURL, `ephemeral_items_processed_total[5m]`)
		if err != nil || len(raw) != 1 {
			t.Errorf("%s: ephemeral samples: %v %v", s.Pod, raw, err)
			continue
		}
		if want := ephemeralAnswers[int(s.Pod[len(s.Pod)-1]-'0')]; len(raw[0].Values) != want {
			t.Errorf("%s: %d ephemeral samples, want %d", s.Pod, len(raw[0].Values), want)
		}
		for _, v := range raw[0].Values {
			if ts, _ := v[0].(float64); int64(math.Round(ts*1000)) > st.EphemeralEnd {
				t.Errorf("%s: sample at %v after EphemeralEnd %d", s.Pod, ts, st.EphemeralEnd)
			}
		}
		if v, err := query(ctx, s.PrometheusURL, `up{job="ephemeral"}`, time.Time{}); err != nil || len(v) != 1 || v[0].Value[1] != "0" {
			t.Errorf("%s: up of the ephemeral job: %v %v", s.Pod, v, err)
		}
	}
	if v, err := query(ctx, st.QuerierHTTP, `{__name__=~"ephemeral_.*"}`, time.Time{}, "dedup=false"); err != nil || len(v) != 0 {
		t.Errorf("querier: ephemeral series at now: %v %v", v, err)
	}
	if v, err := query(ctx, st.QuerierHTTP, `count(ephemeral_items_processed_total)`, time.UnixMilli(st.EphemeralEnd), "dedup=false"); err != nil || len(v) != 1 {
		t.Errorf("querier: ephemeral series at EphemeralEnd: %v %v", v, err)
	}
}
