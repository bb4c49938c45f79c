// Command bench measures kubectl-globalquery side by side with the Thanos Querier it replaces,
// on the same stores in one run, and prints one table of medians and ratios:
//
//	engine            20 PromQL queries, instant and 6 h range, over the bed's sidecars
//	high cardinality  3 stores of ≥200,000 series each: wall time and peak RSS
//	cold start        `stores` over 24 pods found through kube vs one kubectl port-forward
//	tunnel            bytes through pkg/tunnel vs kubectl port-forward vs loopback
//	remote read       the engine's range queries read through remote read vs through the sidecars
//
// Every case alternates the two sides run by run. It starts what it needs (the bed through
// hack/bed, a second kwok with the benchmark's pods, Prometheus + sidecars over generated
// blocks, Querier processes) and stops all of it by PID when it ends.
//
//	go run ./bench [-dir DIR] [-cases engine,hicard,cold,tput,remoteread] [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bytesSubcommand {
		serveBytesMain(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == measureSubcommand {
		measureMain(os.Args[2:])
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	dir, bins, plugin string
	cases             map[string]bool
	engineReps        int
	hicardReps        int
	coldReps          int
	tputReps          int
	tputBytes         int64
	hicard            hcShape
	hicardStores      int
	coldPods          int
	profileTop        int
}

func run() error {
	root := repoRoot()
	defDir := os.Getenv("BENCH_DIR")
	if defDir == "" {
		defDir = filepath.Join(root, "bench", ".data")
	}
	c := config{hicard: hcDefault}
	var cases string
	var quick bool
	var tputMB int
	flag.StringVar(&c.dir, "dir", defDir, "working dir: cached high-cardinality blocks, the bed, logs, profiles ($BENCH_DIR)")
	flag.StringVar(&c.bins, "bin", filepath.Join(root, "bin"), "directory of prometheus, promtool, thanos, kubectl, kwok, ...")
	flag.StringVar(&c.plugin, "plugin", filepath.Join(root, "bin", "kubectl-globalquery"), "the plugin binary to measure (make build)")
	flag.StringVar(&cases, "cases", "hicard,engine,cold,tput,remoteread,contexts", "cases to run, comma-separated")
	flag.IntVar(&c.engineReps, "engine-reps", 5, "runs of each engine query per side")
	flag.IntVar(&c.hicardReps, "hicard-reps", 3, "runs of each high-cardinality query per side")
	flag.IntVar(&c.coldReps, "cold-reps", 7, "cold-start runs per side")
	flag.IntVar(&c.tputReps, "tput-reps", 5, "throughput runs per path")
	flag.IntVar(&tputMB, "tput-mb", 256, "MB read per throughput run")
	flag.IntVar(&c.hicardStores, "hicard-stores", 3, "high-cardinality stores")
	flag.IntVar(&c.coldPods, "cold-pods", 24, "pods for the cold start")
	flag.IntVar(&c.profileTop, "profile-top", 12, "functions per profile listing")
	flag.BoolVar(&quick, "quick", false, "one run per side and small data, to check the harness")
	flag.Parse()
	c.tputBytes = int64(tputMB) * 1_000_000
	c.cases = map[string]bool{}
	for _, s := range strings.Split(cases, ",") {
		c.cases[strings.TrimSpace(s)] = true
	}
	if quick {
		c.engineReps, c.hicardReps, c.coldReps, c.tputReps = 1, 1, 2, 1
		c.tputBytes = 32_000_000
		c.hicard.Jobs = 2
	}
	for _, b := range []string{c.plugin, filepath.Join(c.bins, "prometheus"), filepath.Join(c.bins, "promtool"),
		filepath.Join(c.bins, "thanos"), filepath.Join(c.bins, "kubectl"), filepath.Join(c.bins, "kwok")} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%s is missing: run make build tools", b)
		}
	}
	var err error
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s [load %s] %s\n", time.Now().Format("15:04:05"), loadAvg(), fmt.Sprintf(format, args...))
	}
	runDir := filepath.Join(c.dir, "run")
	killStale(runDir, c.bins)
	ps, err := newProcs(runDir)
	if err != nil {
		return err
	}
	defer ps.stopAll()
	prof := &profiler{dir: filepath.Join(c.dir, "profiles")}
	t := &table{}
	var notes, profiles []string
	began := time.Now()
	load0 := loadAvg()

	if c.cases["hicard"] {
		if err := caseHicard(ctx, c, ps, prof, t, &notes, logf); err != nil {
			return err
		}
		profiles = append(profiles, prof.report("hicard", c.profileTop))
	}

	needBed := c.cases["engine"] || c.cases["cold"] || c.cases["tput"] || c.cases["remoteread"] || c.cases["contexts"]
	if needBed {
		b, err := startBed(ctx, c.dir, logf)
		if err != nil {
			return err
		}
		defer func() {
			if err := b.down(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
		}()
		if c.cases["engine"] {
			if err := caseEngine(ctx, c, ps, prof, b, t, &notes, logf); err != nil {
				return err
			}
			profiles = append(profiles, prof.report("engine", c.profileTop))
		}
		if c.cases["remoteread"] {
			if err := caseRemoteRead(ctx, c, b, t, &notes, logf); err != nil {
				return err
			}
		}
		if c.cases["contexts"] {
			if err := caseContexts(ctx, c, ps, b, t, logf); err != nil {
				return err
			}
		}
		if c.cases["cold"] || c.cases["tput"] {
			if err := caseTunnels(ctx, c, ps, prof, b, t, &notes, logf); err != nil {
				return err
			}
			if c.cases["cold"] {
				profiles = append(profiles, prof.report("cold", c.profileTop))
			}
		}
	}

	load1 := loadAvg()
	fmt.Printf("\nkubectl-globalquery vs Thanos Querier %s — %d CPUs, load average %s at start, %s at end, %.0f min\n\n",
		versionOf(c.bins, "thanos"), runtime.NumCPU(), load0, load1, time.Since(began).Minutes())
	t.print(os.Stdout)
	for _, n := range notes {
		fmt.Println(n)
	}
	if len(profiles) > 0 {
		fmt.Printf("\nProfiles of the in-process path (in %s; percentages are of the whole profile):\n", prof.dir)
		for _, p := range profiles {
			fmt.Print(p)
		}
	}
	return nil
}

func caseHicard(ctx context.Context, c config, ps *procs, prof *profiler, t *table, notes *[]string, logf func(string, ...any)) error {
	blocks, meta, err := hicardBlocks(ctx, c.dir, c.bins, c.hicard, logf)
	if err != nil {
		return err
	}
	stores, err := hicardStores(ctx, ps, c.bins, filepath.Join(c.dir, "run", "hicard"), blocks, c.hicardStores)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range stores {
			ps.stop(s.sidecar, 10*time.Second)
			ps.stop(s.prom, 10*time.Second)
		}
	}()
	var eps []string
	for _, s := range stores {
		eps = append(eps, s.grpc)
	}
	at := time.UnixMilli(meta.End)
	var queries []promQuery
	for _, e := range hicardQueries {
		queries = append(queries, promQuery{Expr: e, Time: at})
	}
	set, err := connectDirect(ctx, eps)
	if err != nil {
		return err
	}
	defer set.Close()
	logf("high cardinality: %d stores × %d series; %d runs per side", len(stores), c.hicard.series(), c.hicardReps)
	res, err := benchHicard(ctx, ps, c.bins, c.plugin, eps, set.FanoutStores(), queries, c.hicardReps)
	if err != nil {
		return err
	}
	logf("high cardinality: in-process runs under the profiler")
	if err := prof.run("hicard", func() error { return hicardProfile(ctx, set.FanoutStores(), queries) }); err != nil {
		return err
	}
	hicardRows(t, res, c.hicard.series())
	*notes = append(*notes, fmt.Sprintf("high cardinality: %d stores × %d series (%d samples each, %d s apart); count({__name__=~\".+\"}) = %s (ours), %s (Querier)",
		len(stores), c.hicard.series(), c.hicard.samples(), c.hicard.StepSeconds, res.ours[0][0].first, res.theirs[0][0].first))
	return nil
}

func caseEngine(ctx context.Context, c config, ps *procs, prof *profiler, b *bed, t *table, notes *[]string, logf func(string, ...any)) error {
	eps := b.sidecars()
	q, err := startQuerier(ctx, ps, c.bins, "querier-engine", eps)
	if err != nil {
		return err
	}
	defer ps.stop(q.p, 10*time.Second)
	serve, err := startServe(ctx, ps, c.plugin, "serve-engine", eps)
	if err != nil {
		return err
	}
	defer ps.stop(serve.p, 10*time.Second)
	set, err := connectDirect(ctx, eps)
	if err != nil {
		return err
	}
	defer set.Close()
	end := time.UnixMilli(b.st.HistoryEnd)
	start := end.Add(-6 * time.Hour)
	if s := time.UnixMilli(b.st.HistoryStart); start.Before(s) {
		start = s
	}
	var instant, ranged []promQuery
	for _, e := range engineQueries {
		instant = append(instant, promQuery{Expr: e, Time: end})
		ranged = append(ranged, promQuery{Expr: e, Start: start, End: end, Step: 30 * time.Second})
	}
	var results []*engineResult
	for _, set2 := range []struct {
		kind string
		qs   []promQuery
	}{{"instant", instant}, {"range", ranged}} {
		logf("engine: %d %s queries, %d runs per side", len(set2.qs), set2.kind, c.engineReps)
		res, err := benchEngine(ctx, c.plugin, q, serve, eps, set2.qs, set2.kind, c.engineReps, set.FanoutStores())
		if err != nil {
			return err
		}
		results = append(results, res)
		*notes = append(*notes, res.mismatches...)
	}
	// What a process per query pays before any query: start-up alone, then start-up plus gRPC
	// connections and Info to every store.
	var startOnly, connectOnly []time.Duration
	for range max(3, 2*c.engineReps) {
		_, d, _, err := runTimed(ctx, c.plugin, "version")
		if err != nil {
			return err
		}
		startOnly = append(startOnly, d)
		_, d, _, err = runTimed(ctx, c.plugin, append([]string{"stores"}, endpointArgs(eps)...)...)
		if err != nil {
			return err
		}
		connectOnly = append(connectOnly, d)
	}
	idle, _ := procStatusKB(q.p.PID, "VmRSS")
	hwm, _ := procStatusKB(q.p.PID, "VmHWM")
	logf("engine: in-process runs under the profiler")
	if err := prof.run("engine", func() error {
		for range max(1, 2*c.engineReps) {
			for _, qs := range [][]promQuery{instant, ranged} {
				for _, pq := range qs {
					if _, _, err := runOursInProcess(ctx, set.FanoutStores(), pq); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	engineRows(t, results, c.engineReps)
	t.add(row{name: "engine: process start alone (`version`)", ours: fmtDur(median(startOnly)), note: "what every process pays"})
	t.add(row{name: fmt.Sprintf("engine: start + connect + Info (`stores`, %d --endpoint)", len(eps)), ours: fmtDur(median(connectOnly)),
		note: "what every query process pays before its query"})
	var detail strings.Builder
	printEngineDetail(&detail, results)
	*notes = append(*notes, fmt.Sprintf("\nengine: %d stores (the bed's sidecars), Querier RSS %s now, peak %s; per query (medians):\n%s",
		len(eps), fmtMiB(idle), fmtMiB(hwm), indent(detail.String())))
	return nil
}

func caseRemoteRead(ctx context.Context, c config, b *bed, t *table, notes *[]string, logf func(string, ...any)) error {
	set, err := connectDirect(ctx, b.sidecars())
	if err != nil {
		return err
	}
	defer set.Close()
	plain, closePlain, err := plainStores(ctx, b)
	if err != nil {
		return err
	}
	defer closePlain()
	end := time.UnixMilli(b.st.HistoryEnd)
	start := end.Add(-6 * time.Hour)
	if s := time.UnixMilli(b.st.HistoryStart); start.Before(s) {
		start = s
	}
	var qs []promQuery
	for _, e := range engineQueries {
		qs = append(qs, promQuery{Expr: e, Start: start, End: end, Step: 30 * time.Second})
	}
	logf("remote read: %d range queries, %d runs per side", len(qs), c.engineReps)
	res, err := benchRemoteRead(ctx, set.FanoutStores(), plain, qs, c.engineReps)
	if err != nil {
		return err
	}
	remoteReadRows(t, res, c.engineReps)
	*notes = append(*notes, res.mismatches...)
	return nil
}

func caseTunnels(ctx context.Context, c config, ps *procs, prof *profiler, b *bed, t *table, notes *[]string, logf func(string, ...any)) error {
	ports, err := supervise.FreePorts(1)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	direct := "127.0.0.1:" + strconv.Itoa(ports[0])
	src, err := ps.start("bytes", nil, self, bytesSubcommand, "-addr", direct, "-bytes", strconv.FormatInt(c.tputBytes, 10))
	if err != nil {
		return err
	}
	defer ps.stop(src, 5*time.Second)
	logf("kube: adding %d pods behind %q, one behind %q and the throughput pod on a second kwok", c.coldPods, coldService, soloService)
	bc, err := addBenchPods(ctx, ps, c.bins, b, c.coldPods, direct)
	if err != nil {
		return err
	}
	defer ps.stop(bc.kwok, 10*time.Second)
	if c.cases["cold"] {
		logf("cold start: %d runs per side", c.coldReps)
		res, err := benchColdStart(ctx, c.bins, c.plugin, bc, b.sidecars(), c.coldReps)
		if err != nil {
			return err
		}
		coldRows(t, res)
		trace := filepath.Join(ps.dir, "logs", "stores-cold-v6.log")
		if err := traceColdStart(ctx, c.plugin, bc, trace); err != nil {
			return fmt.Errorf("cold start trace: %w", err)
		}
		*notes = append(*notes, "cold start: the API requests of one 24-pod `stores` run, with latencies: "+trace)
		servers := append(b.st.pidsNamed("kube-apiserver"), b.st.pidsNamed("kwok")...)
		servers = append(servers, bc.kwok.PID)
		ours, theirs, err := coldStartCPU(ctx, c.plugin, bc, servers, 10)
		if err != nil {
			return fmt.Errorf("cold start CPU: %w", err)
		}
		*notes = append(*notes, fmt.Sprintf("cold start: CPU per 24-pod `stores` run (10 runs): ours %s, the API server and kwok %s, on %d CPUs",
			ours.Round(time.Millisecond), theirs.Round(time.Millisecond), runtime.NumCPU()))
		logf("cold start: in-process runs under the profiler")
		if err := prof.run("cold", func() error { return coldProfile(ctx, bc, 10) }); err != nil {
			return fmt.Errorf("cold start profile: %w", err)
		}
	}
	if c.cases["tput"] {
		logf("tunnel throughput: %d MB per run, %d runs per path", c.tputBytes/1_000_000, c.tputReps)
		res, err := benchThroughput(ctx, c.bins, bc, direct, c.tputBytes, c.tputReps)
		if err != nil {
			return err
		}
		tputRows(t, res)
	}
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func versionOf(bins, tool string) string {
	b, err := os.ReadFile(filepath.Join(bins, "."+tool+".version"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
