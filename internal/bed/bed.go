// Package bed runs a local stand-in of a kube-prometheus-stack + Thanos
// sidecar setup made of real components: etcd, kube-apiserver,
// kube-controller-manager and kwok for the cluster; Prometheus with a Thanos
// sidecar per Prometheus pod, which kwok port-forwards to; a scrape target
// of native histograms and of series that go stale; a Thanos Store Gateway
// over a bucket of blocks; and two Thanos Queriers, one over all sidecars as
// the oracle that results can be compared with, one over the sidecars and
// the store gateway. Everything listens on 127.0.0.1 on free ports, under a
// data dir of its own, so several beds can run side by side.
package bed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

type Config struct {
	Dir           string    // data dir (created); holds kubeconfig, state.json, logs, TSDBs
	BinDir        string    // where the tool binaries are (default: <repo>/bin, found by walking up to go.mod)
	HistoryHours  int       // backfilled history per Prometheus, default 6
	Detach        bool      // start processes in their own session (setsid) so they outlive the caller
	APIServerArgs []string  // extra kube-apiserver flags, e.g. --feature-gates=PortForwardWebsockets=false
	Log           io.Writer // progress lines; nil = discard

	// PlainRegions are namespaces ("europe", "united-states") whose Prometheus pods look as if
	// they ran without a Thanos sidecar: no sidecar container and no grpc port in the pods or in
	// prometheus-operated, so discovery finds them as plain Prometheus servers. Their sidecar
	// processes still run on 127.0.0.1, for the Queriers, which thus read the same TSDBs.
	PlainRegions []string
}

type Store struct {
	Namespace, Pod   string // e.g. "europe", "prometheus-prometheus-europe-eu-prometheus-0"
	Cluster, Replica string // external label values of `cluster` and `replica`
	SidecarGRPC      string // 127.0.0.1:port of the real sidecar gRPC (direct, bypassing kube)
	SidecarHTTP      string // http://127.0.0.1:port
	PrometheusURL    string // http://127.0.0.1:port

	Prometheus string // name of the Prometheus object, e.g. "prometheus-europe-eu-prometheus"
	Node       string // the kwok node the pod is bound to
	// Plain: the pod is in one of Config.PlainRegions, shown to kube without a sidecar.
	Plain bool `json:",omitempty"`
}

type State struct {
	Dir, Kubeconfig, APIServer string // APIServer = https://127.0.0.1:port
	QuerierHTTP, QuerierGRPC   string // the Thanos Querier (oracle): http://127.0.0.1:p and 127.0.0.1:p
	Stores                     []Store
	HistoryStart, HistoryEnd   int64 // ms: the backfilled range (every Prometheus has data in it)
	// PlanSpan (ms) is the part of the history from HistoryStart where the replica plans place
	// gaps, restarts and resets, as fractions of it; the rest, under two hours, only continues
	// the curves up to the time the bed started. Tests find those events with At.
	PlanSpan int64
	PIDs     []int

	// A second Querier over the sidecars and the store gateway. Its
	// deduplicated answers may differ from QuerierHTTP's where both kinds of
	// store hold replica 0's data (see querier in metrics.go).
	QuerierAllHTTP, QuerierAllGRPC string

	// A Thanos Store Gateway over Bucket, a filesystem bucket holding
	// europe replica 0's blocks (external labels as on its sidecar): a copy
	// of those its Prometheus has, and the two hours before HistoryStart of
	// http_requests_total and up, which no Prometheus has.
	StoreGateway     string // gRPC 127.0.0.1:port
	StoreGatewayHTTP string // http://127.0.0.1:port
	Bucket           string // the bucket's directory
	BucketStart      int64  // ms: the oldest sample in the bucket

	// Pods in ThanosNamespace behind the services StoreGatewayService and QuerierService, which
	// kwok port-forwards to StoreGateway and to QuerierGRPC: a cluster's own Thanos components.
	StoreGatewayPods []string `json:",omitempty"`
	QuerierPods      []string `json:",omitempty"`

	// The live scrape target of every Prometheus (hack/histogram-target):
	// native and classic RPC latency histograms, and a short-lived job.
	HistogramTarget string // http://127.0.0.1:port
	// EphemeralEnd (ms) is the newest sample of the short-lived job's series
	// on any europe replica; after it there are only staleness markers,
	// written before Up returned.
	EphemeralEnd int64

	Procs   []Proc // the PIDs with their names and start times
	Etcd    string // http://127.0.0.1:port
	Kwok    string // 127.0.0.1:port of kwok's kubelet server
	Started time.Time
}

// ErrRunning is returned by Up when the data dir already has a live bed.
var ErrRunning = errors.New("a bed is already running in this dir")

const stateFile = "state.json"

// Required binaries, all expected in BinDir.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kwok", "prometheus", "promtool", "thanos", "histogram-target"}

// Missing lists the binaries Up needs that binDir lacks ("" = default BinDir).
func Missing(binDir string) []string {
	if binDir == "" {
		binDir = DefaultBinDir()
	}
	var out []string
	for _, b := range binaries {
		if st, err := os.Stat(filepath.Join(binDir, b)); err != nil || st.IsDir() {
			out = append(out, b)
		}
	}
	return out
}

// DefaultBinDir is <repo>/bin, the repo being the nearest directory above
// the working directory that holds go.mod.
func DefaultBinDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return "bin"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "bin")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "bin")
		}
	}
}

// Load reads <dir>/state.json.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, stateFile))
}

// procList is every process the state knows of: the recorded ones plus
// those in the pids file (which may hold more if Up failed half way).
func procList(dir string, s *State) []Proc {
	seen := map[int]bool{}
	var out []Proc
	add := func(p Proc) {
		if p.PID > 0 && !seen[p.PID] {
			seen[p.PID] = true
			out = append(out, p)
		}
	}
	if s != nil {
		for _, p := range s.Procs {
			add(p)
		}
		for _, pid := range s.PIDs {
			add(Proc{PID: pid})
		}
	}
	if ps, err := readPIDs(dir); err == nil {
		for _, p := range ps {
			add(p)
		}
	}
	return out
}

// Running reports whether any process of the bed in dir is alive.
func Running(dir string) bool {
	s, _ := Load(dir)
	for _, p := range procList(dir, s) {
		if alive(p) {
			return true
		}
	}
	return false
}

// Down stops the bed's processes by their recorded PIDs, waits for them to
// exit, and then drops the PID records (the pids file and the PIDs in
// state.json); the data dir is left as it is.
func (s *State) Down() error {
	err := stop(procList(s.Dir, s), 10*time.Second)
	if err != nil {
		return err
	}
	s.PIDs, s.Procs = nil, nil
	if rerr := os.Remove(filepath.Join(s.Dir, pidsFile)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return rerr
	}
	if _, serr := os.Stat(filepath.Join(s.Dir, stateFile)); serr == nil {
		return s.save()
	}
	return nil
}

// logger prefixes progress lines with the time since Up began.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "bed %5.1fs %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}

// At is the time (ms) a fraction f into the planned history: At(1.0/3) is where europe replica 0's
// outage begins, At(2.0/3) replica 1's.
func (s *State) At(f float64) int64 {
	span := s.PlanSpan
	if span == 0 {
		span = s.HistoryEnd - s.HistoryStart
	}
	return s.HistoryStart + int64(f*float64(span))
}
