package e2e

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// Under a network fault a query may end in exactly one of three ways, and any other answer is a
// bug: the Querier's full answer (the fault passed, or retries got past it); the Querier's answer
// over the healthy stores with a warning naming the faulty store and no other (--partial-response
// only); or an error naming the faulty store and no other. A smaller number without a warning, a
// warning or error that blames a healthy store, or an error worded as the gRPC or Go internals
// have it are what these tests exist to catch.

type outcome string

const (
	gotFull    outcome = "full answer"
	gotPartial outcome = "healthy stores' answer + warning"
	gotError   outcome = "error"
)

// toxicQuery is one query both as our command's arguments and as the Querier's API parameters.
type toxicQuery struct {
	name    string
	args    []string
	path    string
	params  url.Values
	isRange bool
}

// toxicQueries read the backfilled history only, ending a quarter of an hour before the bed
// started, so that live scraping cannot move the answers between ours and the Querier's. The
// range query is the one of the issue: every series over 6 h at step 30, 200 to 400 KB of chunks
// per store.
func toxicQueries() []toxicQuery {
	end := theBed.HistoryEnd - 15*60_000
	start := end - 6*3600_000
	at := secs(end)
	const inst = `sum by (cluster, code) (rate(http_requests_total[5m]))`
	const rng = `count({__name__=~".+"})`
	var out []toxicQuery
	for _, dedup := range []bool{true, false} {
		d := strconv.FormatBool(dedup)
		out = append(out,
			toxicQuery{name: "instant/dedup=" + d, args: []string{inst, "--time", at, "--dedup=" + d},
				path: "/api/v1/query", params: url.Values{"query": {inst}, "time": {at}, "dedup": {d}}},
			toxicQuery{name: "range/dedup=" + d, isRange: true,
				args: []string{rng, "--start", secs(start), "--end", at, "--step", "30", "--dedup=" + d},
				path: "/api/v1/query_range", params: url.Values{"query": {rng}, "start": {secs(start)}, "end": {at}, "step": {"30"}, "dedup": {d}}},
		)
	}
	return out
}

// fault is a toxic and when it strikes.
type fault struct {
	name  string
	toxic toxic
	// midStream puts the toxic on only once series flow from the faulty link, so that it hits a
	// Series stream under way rather than the connection's start or the Info call.
	midStream bool
	// oneShot takes a midStream toxic off as soon as the query tries again: a single reset, which
	// a retry must get past with the full answer.
	oneShot bool
	// store is the bed's store behind the faulty link in TestToxicEndpoints: a europe replica,
	// whose twin covers most of its data, or united-states, whose cluster vanishes from a
	// partial answer. The 50 KB/s link carries europe's second replica, the largest answer
	// (about 400 KB, in frames of some 250 KB), so that a frame takes about as long as
	// --store-timeout allows a store to stay silent: the full answer, or the store given up on.
	store int
}

// Bandwidth that keeps a range query's Series stream going for one to two seconds, long enough
// for a fault to be put on in its middle.
var slowLink = toxic{Name: "slow", Type: "bandwidth", Attributes: map[string]int{"rate": 200}}

func faults() []fault {
	return []fault{
		{name: "none"}, // the control: clean proxies must give the full answer
		{name: "reset_at_connect", toxic: toxic{Type: "reset_peer", Attributes: map[string]int{"timeout": 0}}, store: 1},
		{name: "reset_mid_stream", toxic: toxic{Type: "reset_peer", Attributes: map[string]int{"timeout": 50}}, midStream: true, oneShot: true, store: 2},
		{name: "black_hole_at_connect", toxic: toxic{Type: "timeout", Attributes: map[string]int{"timeout": 0}}, store: 2},
		{name: "black_hole_mid_stream", toxic: toxic{Type: "timeout", Attributes: map[string]int{"timeout": 0}}, midStream: true, store: 1},
		{name: "bandwidth_50KBps", toxic: toxic{Type: "bandwidth", Attributes: map[string]int{"rate": 50}}, store: 1},
		{name: "limit_data", toxic: toxic{Type: "limit_data", Attributes: map[string]int{"bytes": 64 << 10}}, store: 2},
		{name: "slicer", toxic: toxic{Type: "slicer", Attributes: map[string]int{"average_size": 256, "size_variation": 128, "delay": 20}}, store: 1},
		{name: "latency", toxic: toxic{Type: "latency", Attributes: map[string]int{"latency": 100, "jitter": 20}}, store: 2},
	}
}

// toxicFlags keep every fault's run within seconds: the timeouts end a silent or slow store,
// the retries give a transient fault a chance to pass. Unsplit, a range query makes one Series
// call per store and attempt, so that a retry shows as a new call, and it is evaluated as the
// Querier evaluates it.
var toxicFlags = []string{"-o", "json", "--connect-timeout=3s", "--store-timeout=5s", "--max-retries=3", "--split-interval=0"}

// expected is what a run may give: the oracle's answers and which names may be blamed.
type expected struct {
	full, healthy *apiResponse // healthy nil: no store is on a clean link
	faulty        []string     // an error or warning must name one of them
	clean         []string     // and none of these
	strict        bool
	errorOK       bool
}

// ran is one run of our command: through runCLI (out, stderr, err) or in-process (resp).
type ran struct {
	out, stderr string
	err         error
	resp        *apiResponse
	took        time.Duration
}

// detail is the error or the warnings of a run, for the log.
func (r ran) detail() string {
	switch {
	case r.err != nil:
		return ": " + trim(r.err.Error())
	case r.resp != nil && r.resp.Status == "error":
		return ": " + trim(r.resp.Error)
	case r.resp != nil && len(r.resp.Warnings) > 0:
		return fmt.Sprintf(": %q", r.resp.Warnings)
	}
	if resp, err := decodeAnswer(r.out); err == nil && len(resp.Warnings) > 0 {
		return fmt.Sprintf(": %q", resp.Warnings)
	}
	return ""
}

// judge sorts a run into one of the three outcomes and lists what is wrong with it.
func judge(r ran, e expected) (outcome, []string) {
	var probs []string
	msg := ""
	switch {
	case r.err != nil:
		msg = r.err.Error()
		if c := cmd.ExitCode(r.err); c != 1 {
			probs = append(probs, fmt.Sprintf("exit code %d, want 1", c))
		}
		if strings.TrimSpace(r.out) != "" {
			probs = append(probs, "an answer on stdout besides the error: "+trim(r.out))
		}
	case r.resp != nil && r.resp.Status == "error":
		msg = r.resp.Error
	}
	if msg != "" {
		if !e.errorOK {
			probs = append(probs, "an error where the healthy stores should answer")
		}
		return gotError, append(probs, blameProblems("error", msg, e)...)
	}
	resp := r.resp
	if resp == nil {
		var err error
		if resp, err = decodeAnswer(r.out); err != nil {
			return gotError, append(probs, err.Error())
		}
	}
	for _, c := range e.clean {
		if names(r.stderr, c) {
			probs = append(probs, fmt.Sprintf("stderr names the healthy store %s: %s", c, trim(r.stderr)))
		}
	}
	if len(resp.Warnings) == 0 {
		if d := compareAnswers(resp, e.full, false); d != "" {
			probs = append(probs, "another answer than the Querier's, without a warning: "+d)
		}
		return gotFull, probs
	}
	if e.strict {
		probs = append(probs, fmt.Sprintf("a success with warnings without --partial-response: %q", resp.Warnings))
	}
	for _, w := range resp.Warnings {
		probs = append(probs, blameProblems("warning", w, e)...)
	}
	switch {
	case e.healthy == nil:
		probs = append(probs, fmt.Sprintf("an answer although no store is on a clean link, warnings %q", resp.Warnings))
	default:
		if d := compareAnswers(resp, e.healthy, false); d != "" {
			probs = append(probs, "another answer than the Querier's over the healthy stores: "+d)
		}
	}
	return gotPartial, probs
}

// rawText is what must not reach the user: gRPC's own wording, Go runtime panics and type names,
// stack traces, broken format verbs.
var rawText = regexp.MustCompile(`rpc error:|runtime error:|\*[a-z][a-z0-9]*\.[A-Za-z_]|&[a-z][a-z0-9]*\.[A-Z]|goroutine \d|panic:|%!`)

func blameProblems(what, msg string, e expected) []string {
	var probs []string
	named := false
	for _, f := range e.faulty {
		named = named || names(msg, f)
	}
	if !named {
		probs = append(probs, fmt.Sprintf("the %s names none of %v: %s", what, e.faulty, trim(msg)))
	}
	for _, c := range e.clean {
		if names(msg, c) {
			probs = append(probs, fmt.Sprintf("the %s names the healthy store %s: %s", what, c, trim(msg)))
		}
	}
	if m := rawText.FindString(msg); m != "" {
		probs = append(probs, fmt.Sprintf("the %s shows internals (%q): %s", what, m, trim(msg)))
	}
	return probs
}

// names reports whether text names store as a whole word: 127.0.0.1:4000 is not named by
// 127.0.0.1:40001.
func names(text, store string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], store)
		if j < 0 {
			return false
		}
		end := i + j + len(store)
		if end == len(text) || !strings.ContainsRune("0123456789abcdefghijklmnopqrstuvwxyz-", rune(text[end])) {
			return true
		}
		i = end
	}
}

func decodeAnswer(out string) (*apiResponse, error) {
	r, err := parseAnswer([]byte(out))
	if err != nil || r.Status != "success" {
		return nil, fmt.Errorf("exit 0 without a JSON answer (%v): %s", err, trim(out))
	}
	return r, nil
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// oracleAnswers asks the Querier at base each query, with partial responses off: every store it
// has must answer.
func oracleAnswers(t *testing.T, base string, qs []toxicQuery) map[string]*apiResponse {
	t.Helper()
	out := map[string]*apiResponse{}
	for _, q := range qs {
		r, err := askOracleAt(base, q.path, q.params)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != "success" || len(r.Warnings) > 0 {
			t.Fatalf("%s at %s: %s", q.name, base, r.raw)
		}
		out[q.name] = r
	}
	return out
}

// strikeMidStream puts f's toxic on p once flowing says series have reached the query, and for
// a one-shot fault takes it off once calls says the query has started again. It returns when
// done is closed, reporting whether the toxic went on.
func strikeMidStream(p *toxicProxy, f fault, flowing func() bool, calls func() int64, done <-chan struct{}) (bool, error) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !flowing() {
		select {
		case <-done:
			return false, nil
		case <-tick.C:
		}
	}
	before := calls()
	if err := p.add(f.toxic); err != nil {
		return false, err
	}
	if !f.oneShot {
		<-done
		return true, nil
	}
	for calls() == before {
		select {
		case <-done:
			return true, p.remove(f.toxic.Name)
		case <-tick.C:
		}
	}
	return true, p.remove(f.toxic.Name)
}

func seriesRead(stores ...*fanout.Store) int64 {
	var n int64
	for _, s := range stores {
		n += s.Stats.SeriesRead.Load()
	}
	return n
}

func seriesCalls(stores ...*fanout.Store) int64 {
	var n int64
	for _, s := range stores {
		n += s.Stats.SeriesCalls.Load()
	}
	return n
}

// job is one query of a fault case in one mode, and how it went.
type job struct {
	label string // mode and query
	r     ran
	out   outcome
	probs []string
}

// report logs each run's outcome and fails the test on each problem.
func report(t *testing.T, jobs []*job) {
	t.Helper()
	for _, j := range jobs {
		t.Logf("%s: %s in %s%s", j.label, j.out, j.r.took.Round(time.Millisecond), j.r.detail())
		for _, p := range j.probs {
			t.Errorf("%s: %s", j.label, p)
		}
	}
}

// toxicName is a proxy name toxiproxy takes in a URL path.
func toxicName(parts ...string) string {
	return strings.NewReplacer("/", "-", "=", "-", "_", "-").Replace(strings.Join(parts, "-"))
}

// links are the proxies of one run: the faulty one, what the run may give, and how our command
// reaches the stores through them (arguments for the CLI, the same as an edit of connectStores).
type links struct {
	bad   *toxicProxy
	e     expected
	reach []string
	edit  func(*stores.Config)
	watch func(stores []*fanout.Store) []*fanout.Store // the stores behind bad
	flags []string                                     // after toxicFlags, in both kinds of run
}

// runFaults runs every fault as a subtest, where every query in both modes runs at once on links
// of its own: the slow cases wait on timeouts, not on the CPU.
func runFaults(t *testing.T, qs []toxicQuery, newLinks func(t *testing.T, name string, q toxicQuery, f fault, strict bool) links) {
	for _, f := range faults() {
		f.toxic.Name = toxicName(f.name)
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			var jobs []*job
			var wg sync.WaitGroup
			for _, strict := range []bool{true, false} {
				for _, q := range qs {
					if f.midStream && !q.isRange {
						continue // an instant query's few series come in one message
					}
					j := &job{label: map[bool]string{true: "strict ", false: "partial "}[strict] + q.name}
					jobs = append(jobs, j)
					l := newLinks(t, toxicName(f.name, j.label), q, f, strict)
					args := append(append(append([]string{}, q.args...), toxicFlags...), l.flags...)
					if !strict {
						args = append(args, "--partial-response")
					}
					switch {
					case f.name == "none":
					case f.midStream:
						if err := l.bad.add(slowLink); err != nil {
							t.Fatal(err)
						}
						set, _ := connectStores(t, l.edit)
						stores := set.FanoutStores()
						watched := l.watch(stores)
						if len(watched) == 0 {
							t.Fatalf("no store behind %s among %d", l.bad.addr, len(stores))
						}
						wg.Go(func() {
							done := make(chan struct{})
							var fired bool
							var ferr error
							var strike sync.WaitGroup
							strike.Go(func() {
								fired, ferr = strikeMidStream(l.bad, f,
									func() bool { return seriesRead(watched...) > 0 }, func() int64 { return seriesCalls(watched...) }, done)
							})
							start := time.Now()
							resp, err := ours(stores, io.Discard, args...)
							took := time.Since(start)
							close(done)
							strike.Wait()
							if !f.oneShot {
								l.bad.remove(f.toxic.Name)
							}
							if err != nil {
								j.r, j.probs = ran{took: took}, []string{err.Error()}
								return
							}
							j.r = ran{resp: resp, took: took}
							j.out, j.probs = judge(j.r, l.e)
							if ferr != nil || !fired {
								j.probs = append(j.probs, fmt.Sprintf("the fault did not strike mid-stream (%v): nothing was tested", ferr))
							}
						})
						continue
					default:
						if err := l.bad.add(f.toxic); err != nil {
							t.Fatal(err)
						}
					}
					args = append(args, l.reach...)
					wg.Go(func() {
						start := time.Now()
						out, stderr, err := runCLI(t, args...)
						j.r = ran{out: out, stderr: stderr, err: err, took: time.Since(start)}
						j.out, j.probs = judge(j.r, l.e)
					})
				}
			}
			wg.Wait()
			report(t, jobs)
		})
	}
}

// Each fault in turn on one sidecar's link, the others on clean links: three --endpoint
// addresses through toxiproxy, as three Prometheus pods would be reached. The 50 KB/s and the
// mid-stream black hole are the first wrong answer: the slow store must be the only one
// named, and the answer the one over the other two, or an error naming it alone.
func TestToxicEndpoints(t *testing.T) {
	tp := startToxiproxy(t)
	qs := toxicQueries()
	full := oracleAnswers(t, theBed.QuerierHTTP, qs)
	healthy := map[int]map[string]*apiResponse{}
	for _, faulty := range []int{1, 2} {
		var others []string
		for i, s := range theBed.Stores {
			if i != faulty {
				others = append(others, s.SidecarGRPC)
			}
		}
		healthy[faulty] = oracleAnswers(t, startQuerierOver(t, fmt.Sprintf("querier-without-%d", faulty), others), qs)
	}
	runFaults(t, qs, func(t *testing.T, name string, q toxicQuery, f fault, strict bool) links {
		faulty := f.store
		var l links
		var addrs []string
		for si, s := range theBed.Stores {
			p := tp.proxy(t, toxicName("ep", name, strconv.Itoa(si)), s.SidecarGRPC)
			addrs = append(addrs, p.addr)
			l.reach = append(l.reach, "--endpoint", p.addr)
			if si == faulty {
				l.bad = p
			} else {
				l.e.clean = append(l.e.clean, p.addr)
			}
		}
		l.e.full, l.e.faulty, l.e.strict, l.e.errorOK = full[q.name], []string{l.bad.addr}, strict, strict
		if !strict {
			l.e.healthy = healthy[faulty][q.name]
		}
		l.edit = withEndpoints(addrs...)
		l.watch = func(stores []*fanout.Store) []*fanout.Store {
			for _, s := range stores {
				if s.Name == l.bad.addr {
					return []*fanout.Store{s}
				}
			}
			return nil
		}
		return l
	})
}

// Each fault in turn on the link to the API server, which discovery and every tunnel take. No
// store is on a clean link then, so the full answer or an error are the only right outcomes,
// --partial-response or not; the error may name the API server or the stores behind it.
func TestToxicAPIServer(t *testing.T) {
	tp := startToxiproxy(t)
	qs := toxicQueries()
	full := oracleAnswers(t, theBed.QuerierHTTP, qs)
	var stores []string
	for _, s := range theBed.Stores {
		stores = append(stores, s.Namespace+"/"+s.Pod)
	}
	upstream := hostPort(t, theBed.APIServer)
	runFaults(t, qs, func(t *testing.T, name string, q toxicQuery, _ fault, strict bool) links {
		p := tp.proxy(t, toxicName("api", name), upstream)
		kc := kubeconfigVia(t, p.addr)
		return links{
			bad: p,
			e:   expected{full: full[q.name], faulty: append([]string{p.addr}, stores...), strict: strict, errorOK: true},
			// As kubectl's own flag, so that a silent API server fails in seconds, not client-go's 20 s.
			reach: []string{"--kubeconfig=" + kc, "--request-timeout=3s"},
			edit:  withKubeconfig(kc),
			watch: func(s []*fanout.Store) []*fanout.Store { return s },
			// Every store's frames share this one link: at 50 KB/s a batch of 64 series from each
			// of the three takes some 15 s to arrive. --store-timeout bounds a store's silence, and
			// a store dropped for it would leave a partial answer that no oracle here can check.
			flags: []string{"--store-timeout=30s"},
		}
	})
}

// --series-batch-size -1 asks the stores for nothing they can send: every store reader fails.
// That is bad input, and no store's fault: the command must fail and say what is wrong, never
// exit 0 with "No series." (the second wrong answer), whether partial responses are
// allowed or not, reaching the stores through kube or directly.
func TestNegativeSeriesBatchSizeFails(t *testing.T) {
	at := "--time=" + secs(theBed.HistoryEnd-15*60_000)
	var endpoints []string
	for _, a := range sidecarAddrs() {
		endpoints = append(endpoints, "--endpoint", a)
	}
	for _, reach := range [][]string{{"--kubeconfig=" + theBed.Kubeconfig}, endpoints} {
		for _, mode := range [][]string{nil, {"--partial-response"}} {
			args := append(append([]string{`count(up)`, at, "--series-batch-size=-1"}, reach...), mode...)
			out, stderr, err := runCLI(t, args...)
			what := strings.Join(append(reach[:1:1], mode...), " ")
			if err == nil {
				t.Errorf("%s: exit 0 with %q, stderr %q", what, trim(out), trim(stderr))
				continue
			}
			if cmd.ExitCode(err) == 0 {
				t.Errorf("%s: exit code 0 with the error %v", what, err)
			}
			if !strings.Contains(err.Error(), "--series-batch-size") {
				t.Errorf("%s: the error does not name --series-batch-size: %v", what, err)
			}
			if m := rawText.FindString(err.Error()); m != "" {
				t.Errorf("%s: the error shows internals (%q): %v", what, m, err)
			}
			if strings.Contains(out, "No series.") {
				t.Errorf("%s: %q printed besides the error", what, out)
			}
		}
	}
}
