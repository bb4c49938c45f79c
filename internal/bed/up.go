package bed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// promSpec is one Prometheus object of the seed setup: a kube-prometheus-stack
// release whose Prometheus is named <release>-<nameOverride>-prometheus.
type promSpec struct {
	Namespace, Release, Override string
	Replicas                     int
	Node                         string // where the StatefulSet's pods are bound
	site                         site
}

func (p promSpec) Name() string { return p.Release + "-" + p.Override + "-prometheus" }

var promSpecs = []promSpec{
	{Namespace: "europe", Release: "prometheus-europe", Override: "eu", Replicas: 2, Node: "kwok-node-0", site: siteEU},
	{Namespace: "united-states", Release: "prometheus-united-states", Override: "us", Replicas: 1, Node: "kwok-node-1", site: siteUS},
}

var nodeNames = []string{"kwok-node-0", "kwok-node-1"}

// member is one Prometheus pod with its real Prometheus and sidecar.
type member struct {
	spec                *promSpec
	ordinal             int
	pod                 string
	web, grpc, http     int
	dir                 string // <Dir>/prometheus/<pod>
	cluster, replicaLbl string
}

func (m *member) tsdb() string { return filepath.Join(m.dir, "data") }

// run carries one Up in progress.
type run struct {
	cfg  Config
	log  *logger
	ps   *procs
	dir  string
	bins string

	etcdClient, etcdPeer, apiPort, kwokPort int
	queryHTTP, queryGRPC                    int
	queryAllHTTP, queryAllGRPC              int
	storeGRPC, storeHTTP, targetPort        int

	members                  []*member
	historyStart, historyEnd int64
	planSpan                 int64 // ms from historyStart over which the replica plans place events
	bucketStart              int64
	bucketCopied             chan error // the bucket source's blocks are in the bucket (or could not be)
	ephemeralEnd             int64
}

// Up starts a bed in cfg.Dir, waits until every part is ready and writes
// <Dir>/state.json. On error it stops whatever it had started.
func Up(ctx context.Context, cfg Config) (st *State, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("bed: Config.Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if cfg.BinDir == "" {
		cfg.BinDir = DefaultBinDir()
	}
	if cfg.BinDir, err = filepath.Abs(cfg.BinDir); err != nil {
		return nil, err
	}
	if cfg.HistoryHours <= 0 {
		cfg.HistoryHours = 6
	}
	if miss := Missing(cfg.BinDir); len(miss) > 0 {
		return nil, fmt.Errorf("bed: missing binaries in %s: %s", cfg.BinDir, strings.Join(miss, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if Running(dir) {
		return nil, fmt.Errorf("%w: %s", ErrRunning, dir)
	}
	if err := resetDir(dir); err != nil {
		return nil, err
	}

	l := &logger{w: cfg.Log, start: time.Now()}
	r := &run{cfg: cfg, log: l, dir: dir, bins: cfg.BinDir, ps: &procs{dir: dir, detach: cfg.Detach},
		bucketCopied: make(chan error, 1)}
	defer func() {
		if err != nil {
			l.printf("failed, stopping what was started: %v", err)
			_ = stop(r.ps.list(), 10*time.Second)
			_ = os.Remove(filepath.Join(dir, pidsFile))
		}
	}()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := r.plan(); err != nil {
		return nil, err
	}

	// The cluster and the metrics stack do not depend on each other until
	// kwok forwards to the sidecars, and those ports are fixed up front, so
	// both come up at once.
	errs := make(chan error, 2)
	go func() { errs <- r.kube(ctx) }()
	go func() { errs <- r.metrics(ctx) }()
	var first error
	for range 2 {
		if e := <-errs; e != nil && first == nil {
			first = e
			cancel()
		}
	}
	if first != nil {
		return nil, first
	}

	st = r.state()
	if err := st.save(); err != nil {
		return nil, err
	}
	l.printf("ready")
	return st, nil
}

// resetDir removes what an earlier Up left, so each bed starts from the same
// state with a history that ends just before now. Only the bed's own entries
// are touched.
func resetDir(dir string) error {
	for _, n := range []string{"etcd", "prometheus", "pki", "kube", "logs", "bucket", "bucket-older", "store", pidsFile, stateFile, "kubeconfig"} {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	for _, n := range []string{"logs", "pki", "kube", "prometheus"} {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) plan() error {
	nm := 0
	for _, s := range promSpecs {
		nm += s.Replicas
	}
	ports, err := supervise.FreePorts(11 + 3*nm)
	if err != nil {
		return err
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	r.etcdClient, r.etcdPeer, r.apiPort, r.kwokPort = next(), next(), next(), next()
	r.queryHTTP, r.queryGRPC = next(), next()
	r.queryAllHTTP, r.queryAllGRPC = next(), next()
	r.storeGRPC, r.storeHTTP, r.targetPort = next(), next(), next()
	for i := range promSpecs {
		s := &promSpecs[i]
		for o := range s.Replicas {
			pod := fmt.Sprintf("prometheus-%s-%d", s.Name(), o)
			r.members = append(r.members, &member{
				spec: s, ordinal: o, pod: pod,
				web: next(), grpc: next(), http: next(),
				dir:     filepath.Join(r.dir, "prometheus", pod),
				cluster: s.Namespace + "/" + s.Name(), replicaLbl: pod,
			})
		}
	}
	// The history starts at a fixed distance from a block boundary, so that where TSDB cuts
	// blocks and chunks relative to the replicas' gaps, restarts and skew is the same on every
	// bed: dedup follows chunk boundaries, and a bed started at another time of day would
	// otherwise take other paths through the same plans. The plans span HistoryHours from the
	// start; the history goes on up to two minutes ago, up to one block more.
	end := time.Now().Add(-2 * time.Minute).Truncate(scrapeInterval)
	plan := time.Duration(r.cfg.HistoryHours) * time.Hour
	start := end.Add(-plan).Truncate(blockSpan).Add(historyPhase)
	if start.Add(plan).After(end) {
		start = start.Add(-blockSpan)
	}
	r.historyEnd = end.UnixMilli()
	r.historyStart = start.UnixMilli()
	r.planSpan = plan.Milliseconds()
	return nil
}

func (r *run) state() *State {
	st := &State{
		Dir:          r.dir,
		Kubeconfig:   filepath.Join(r.dir, "kubeconfig"),
		APIServer:    "https://127.0.0.1:" + strconv.Itoa(r.apiPort),
		QuerierHTTP:  "http://127.0.0.1:" + strconv.Itoa(r.queryHTTP),
		QuerierGRPC:  "127.0.0.1:" + strconv.Itoa(r.queryGRPC),
		HistoryStart: r.historyStart,
		HistoryEnd:   r.historyEnd,
		PlanSpan:     r.planSpan,

		QuerierAllHTTP:   "http://127.0.0.1:" + strconv.Itoa(r.queryAllHTTP),
		QuerierAllGRPC:   "127.0.0.1:" + strconv.Itoa(r.queryAllGRPC),
		StoreGateway:     "127.0.0.1:" + strconv.Itoa(r.storeGRPC),
		StoreGatewayHTTP: "http://127.0.0.1:" + strconv.Itoa(r.storeHTTP),
		Bucket:           r.bucketDir(),
		BucketStart:      r.bucketStart,
		HistogramTarget:  "http://127.0.0.1:" + strconv.Itoa(r.targetPort),
		EphemeralEnd:     r.ephemeralEnd,

		Procs:   r.ps.list(),
		Etcd:    "http://127.0.0.1:" + strconv.Itoa(r.etcdClient),
		Kwok:    "127.0.0.1:" + strconv.Itoa(r.kwokPort),
		Started: r.log.start,
	}
	r.thanosState(st)
	for _, p := range st.Procs {
		st.PIDs = append(st.PIDs, p.PID)
	}
	for _, m := range r.members {
		st.Stores = append(st.Stores, Store{
			Namespace: m.spec.Namespace, Pod: m.pod,
			Cluster: m.cluster, Replica: m.replicaLbl,
			SidecarGRPC:   "127.0.0.1:" + strconv.Itoa(m.grpc),
			SidecarHTTP:   "http://127.0.0.1:" + strconv.Itoa(m.http),
			PrometheusURL: "http://127.0.0.1:" + strconv.Itoa(m.web),
			Prometheus:    m.spec.Name(),
			Node:          m.spec.Node,
			Plain:         r.plain(m.spec.Namespace),
		})
	}
	return st
}

func (r *run) bin(name string) string { return filepath.Join(r.bins, name) }

// plain reports whether the namespace's Prometheus pods are shown to kube without a sidecar.
func (r *run) plain(ns string) bool { return slices.Contains(r.cfg.PlainRegions, ns) }

// poll calls fn every interval until it reports done, ctx ends, or one of
// the watched processes exits (which fails at once, with its log tail).
func (r *run) poll(ctx context.Context, what string, watch []*child, interval time.Duration, fn func(context.Context) (bool, error)) error {
	return supervise.Poll(ctx, what, watch, interval, false, fn)
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func splitHostPort(hp string) (string, string) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, ""
	}
	return h, p
}

// toolVersion reads the stamp hack/build-tool.sh leaves next to a binary.
func (r *run) toolVersion(name, fallback string) string {
	b, err := os.ReadFile(filepath.Join(r.bins, "."+name+".version"))
	if err != nil {
		return fallback
	}
	if v := strings.TrimSpace(string(b)); v != "" {
		return v
	}
	return fallback
}
