package bed

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
	mid := time.UnixMilli((st.HistoryStart + st.HistoryEnd) / 2)
	perReplica, err := query(ctx, st.QuerierHTTP, `count by (replica) (up{job="node-exporter"})`, mid, "dedup=false")
	if err != nil {
		t.Fatal(err)
	}
	if len(perReplica) != 3 {
		t.Errorf("backfilled up at %v: %d replicas, want 3: %v", mid, len(perReplica), perReplica)
	}

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
