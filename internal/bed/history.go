package bed

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The backfilled history is synthetic but shaped like what a Prometheus pair
// scraping real workloads records. Every value is a function of the time
// since the history start, so both replicas of a pair see one underlying
// curve and differ only where their scrape times or their gaps differ, as
// real HA replicas do.

const scrapeInterval = 30 * time.Second

// blockSpan is TSDB's block range, to which backfilled blocks are aligned (multiples of it since
// the epoch). historyPhase places the history's start that far after a block boundary: there the
// Querier shows both of its dedup faults on the europe pair (tests TestImprovedDedup*), which it
// does on most phases but not on all, since its lanes follow chunk boundaries.
const (
	blockSpan    = 2 * time.Hour
	historyPhase = 40 * time.Minute
)

// site describes the workloads one Prometheus (or HA pair) scrapes.
type site struct {
	name string // suffix of instance names, e.g. "eu"
	seed int64
	// Workload scale, so that the two sites answer queries differently.
	load float64
	// The second API instance is down (up==0, its other series absent) for
	// downFor before restartAt, a fraction of the history range; its counters
	// then start again from zero.
	restartAt float64
	downFor   time.Duration
	// latency scales the mean request duration.
	latency float64
}

var (
	siteEU = site{name: "eu", seed: 20240601, load: 1, restartAt: 0.5, downFor: 5 * time.Minute, latency: 1}
	siteUS = site{name: "us", seed: 20240602, load: 0.6, restartAt: 0.25, downFor: 10 * time.Minute, latency: 1.7}
)

// replicaPlan says when one replica scraped: skew is added to every aligned
// scrape time and a gap (the replica itself down) drops whole scrapes. The
// other fields are the ways HA replicas drift apart in practice, each on
// the worker job only so that the older families stay as they were.
type replicaPlan struct {
	index            int
	skewMin, skewMax time.Duration
	gapStart, gapLen float64 // fraction of the range; gapLen 0 = no gap
	gapCap           time.Duration

	// workerResetAt is the fraction of the range from which this replica
	// sees jobs_processed_total{queue="reports"} count again from zero, as
	// if it alone had reached a restarted process; 0 = never.
	workerResetAt float64
	// queueDepthLate delays worker_queue_depth on this replica, as if its
	// scrape config had gained that target later; capped at half the range.
	queueDepthLate time.Duration
	// extraQueues are queue label values of jobs_processed_total that only
	// this replica has (the other one drops them by relabelling).
	extraQueues []string
}

// minGap keeps a replica's outage long enough to matter for dedup even in
// a short history: longer than any lookback a test would use by default.
const minGap = 10 * time.Minute

// queueDepthLateBy is how much later europe replica 1 starts recording
// worker_queue_depth than replica 0.
const queueDepthLateBy = 3 * time.Hour

func plansFor(replicas int) []replicaPlan {
	p := []replicaPlan{{index: 0, gapStart: 1.0 / 3, gapLen: 1.0 / 8, gapCap: 20 * time.Minute}}
	if replicas > 1 {
		p[0].extraQueues = []string{"priority"}
		p = append(p, replicaPlan{index: 1, skewMin: 7 * time.Second, skewMax: 13 * time.Second,
			gapStart: 2.0 / 3, gapLen: 1.0 / 10, gapCap: 15 * time.Minute,
			workerResetAt: 0.25, queueDepthLate: queueDepthLateBy})
	}
	return p
}

type handlerSpec struct {
	handler, method string
	codes           []codeRate
	meanLatency     float64 // seconds
}

type codeRate struct {
	code string
	rate float64 // requests per second at load 1
}

var handlers = []handlerSpec{
	{"/api/orders", "GET", []codeRate{{"200", 12}, {"404", 0.4}, {"500", 0.15}}, 0.045},
	{"/api/orders", "POST", []codeRate{{"201", 3}, {"400", 0.2}, {"500", 0.05}}, 0.12},
	{"/api/users", "GET", []codeRate{{"200", 8}, {"404", 0.6}}, 0.02},
	{"/healthz", "GET", []codeRate{{"200", 0.2}}, 0.002},
}

var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// history is the generated data of one site over [start, end].
type history struct {
	s          site
	start, end int64 // ms
	rangeMs    int64
}

func (h history) apiInstances() []string {
	return []string{"api-" + h.s.name + "-0:8080", "api-" + h.s.name + "-1:8080"}
}
func (h history) nodes() []string {
	return []string{"node-" + h.s.name + "-a", "node-" + h.s.name + "-b"}
}
func (h history) nodeInstance(n string) string {
	return n + ":9100"
}
func (h history) ksmInstance() string { return "kube-state-metrics-" + h.s.name + ":8080" }
func (h history) apiPod(i int) string {
	return fmt.Sprintf("api-%s-7c9d5b8f4-%c%c%c%c%c", h.s.name, "qwxzk"[i], "8m2rt"[i], "pvn7c"[i], "4hjsd"[i], "lbxgf"[i])
}

func (h history) restartMs() int64 { return h.start + int64(float64(h.rangeMs)*h.s.restartAt) }
func (h history) downFrom() int64  { return h.restartMs() - h.s.downFor.Milliseconds() }

// apiDown reports whether API instance i failed its scrape at t.
func (h history) apiDown(i int, t int64) bool {
	return i == 1 && t >= h.downFrom() && t < h.restartMs()
}

// processStart is where API instance i's counters start counting for a
// sample at t: the history start (they already hold a value there), or the
// restart, after which they begin again from zero.
func (h history) processStart(i int, t int64) (from int64, restarted bool) {
	if i == 1 && t >= h.restartMs() {
		return h.restartMs(), true
	}
	return h.start, false
}

// hashFloat maps its inputs to [0,1) deterministically.
func hashFloat(parts ...any) float64 {
	f := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(f, p, "\x00")
	}
	return float64(f.Sum64()>>11) / float64(1<<53)
}

type curve struct {
	base, amp, omega, phase float64
}

func (h history) curve(parts ...any) curve {
	k := fmt.Sprint(parts...)
	return curve{
		base:  1,
		amp:   0.3 + 0.4*hashFloat(h.s.seed, k, "amp"),
		omega: 2 * math.Pi / ((90 + 120*hashFloat(h.s.seed, k, "period")) * 60), // one wave per 1.5-3.5 h
		phase: 2 * math.Pi * hashFloat(h.s.seed, k, "phase"),
	}
}

// integral of base*(1 + amp*sin(omega*x + phase)) dx from a to b (seconds).
func (c curve) integral(a, b float64) float64 {
	return c.base*(b-a) - c.base*c.amp/c.omega*(math.Cos(c.omega*b+c.phase)-math.Cos(c.omega*a+c.phase))
}

func (c curve) at(x float64) float64 { return c.base * (1 + c.amp*math.Sin(c.omega*x+c.phase)) }

// counter is one http_requests_total series: a rate that follows a wave,
// integrated since the process started.
type counter struct {
	h      history
	inst   int
	c      curve
	rate   float64
	uptime float64 // requests served before the history starts
}

func (h history) counter(inst int, hs handlerSpec, cr codeRate) counter {
	rate := cr.rate * h.s.load * (1 + 0.25*float64(inst))
	return counter{h: h, inst: inst, c: h.curve("req", inst, hs.handler, hs.method, cr.code), rate: rate,
		uptime: rate * 3600 * (2 + 20*hashFloat(h.s.seed, "uptime", inst))}
}

func (c counter) at(t int64) float64 {
	from, restarted := c.h.processStart(c.inst, t)
	v := c.rate * c.c.integral(float64(from-c.h.start)/1000, float64(t-c.h.start)/1000)
	if !restarted {
		v += c.uptime
	}
	return math.Floor(v)
}

func (h history) fraction(hs handlerSpec, le float64) float64 {
	return 1 - math.Exp(-le/(hs.meanLatency*h.s.latency))
}

// wave is a gauge-like value around base, with a little deterministic noise
// that depends on the exact scrape time (so skewed replicas differ slightly).
func (h history) wave(c curve, base, rel float64, t int64, key string) float64 {
	x := float64(t-h.start) / 1000
	noise := 0.02 * (hashFloat(key, t) - 0.5)
	return math.Round(base * (1 + rel*(c.at(x)-1) + noise))
}

// scrapeTimes lists the replica's scrape timestamps (ms) in [start, end].
func (h history) scrapeTimes(p replicaPlan) []int64 {
	r := rand.New(rand.NewSource(h.s.seed*10 + int64(p.index)))
	gapFrom := h.start + int64(float64(h.rangeMs)*p.gapStart)
	gapLen := int64(float64(h.rangeMs) * p.gapLen)
	if c := p.gapCap.Milliseconds(); p.gapCap > 0 && gapLen > c {
		gapLen = c
	}
	gapLen = max(gapLen, minGap.Milliseconds())
	var out []int64
	step := scrapeInterval.Milliseconds()
	for t := h.start; ; t += step {
		skew := p.skewMin.Milliseconds()
		if d := (p.skewMax - p.skewMin).Milliseconds(); d > 0 {
			skew += r.Int63n(d + 1)
		}
		ts := t + skew
		if ts > h.end {
			break
		}
		if p.gapLen > 0 && ts >= gapFrom && ts < gapFrom+gapLen {
			continue
		}
		out = append(out, ts)
	}
	return out
}

type om struct {
	w    *bufio.Writer
	buf  []byte
	only map[string]bool // families to write; nil = all
	skip bool            // the current family is not among them
}

func (o *om) family(name, typ, help string) {
	if o.skip = o.only != nil && !o.only[name]; o.skip {
		return
	}
	fmt.Fprintf(o.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// series writes one series' samples; value returns ok=false to skip a time.
func (o *om) series(name string, lbls [][2]string, times []int64, value func(t int64) (float64, bool)) {
	if o.skip {
		return
	}
	var head strings.Builder
	head.WriteString(name)
	if len(lbls) > 0 {
		sorted := append([][2]string(nil), lbls...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
		head.WriteByte('{')
		for i, l := range sorted {
			if i > 0 {
				head.WriteByte(',')
			}
			head.WriteString(l[0])
			head.WriteString(`="`)
			head.WriteString(l[1])
			head.WriteByte('"')
		}
		head.WriteByte('}')
	}
	prefix := head.String()
	for _, t := range times {
		v, ok := value(t)
		if !ok {
			continue
		}
		b := o.buf[:0]
		b = append(b, prefix...)
		b = append(b, ' ')
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendInt(b, t/1000, 10)
		b = append(b, '.')
		ms := t % 1000
		b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), '\n')
		o.buf = b
		o.w.Write(b)
	}
}

func always(v float64) func(int64) (float64, bool) {
	return func(int64) (float64, bool) { return v, true }
}

// writeOpenMetrics writes the history one replica of site s recorded, as
// OpenMetrics text that promtool turns into TSDB blocks. Families are
// written one after another and each series' samples in time order, as the
// block writer appends them.
func writeOpenMetrics(w io.Writer, s site, plan replicaPlan, start, end, planSpan int64) error {
	h := history{s: s, start: start, end: end, rangeMs: planSpan}
	return writeHistory(w, h, plan, h.scrapeTimes(plan), nil)
}

// olderFamilies are what the bucket holds of the time before the sidecars'
// history: enough for request rates and target health over a longer range.
var olderFamilies = map[string]bool{"http_requests": true, "up": true}

// olderHistory writes what replica 0 of site s recorded in the span before
// the history that starts at historyStart, every scrape up to the last one
// before it: only olderFamilies, continuing into that history (the same
// curves, the counters lower by what was counted in between).
func olderHistory(w io.Writer, s site, historyStart int64, span time.Duration) error {
	// The API restart of the history is a fraction of its range ahead;
	// pushed past it here, so no sample before historyStart is affected.
	s.restartAt = 2
	h := history{s: s, start: historyStart, end: historyStart, rangeMs: span.Milliseconds()}
	step := scrapeInterval.Milliseconds()
	var times []int64
	for t := historyStart - span.Milliseconds(); t < historyStart; t += step {
		times = append(times, t)
	}
	return writeHistory(w, h, replicaPlan{index: 0}, times, olderFamilies)
}

type workerQueue struct {
	name        string
	rate, depth float64 // jobs per second, mean queue depth (at load 1)
}

var workerQueues = []workerQueue{{"emails", 4, 120}, {"reports", 0.5, 15}}

// extraWorkerQueues are the queues that only a replica naming them in its
// extraQueues records.
var extraWorkerQueues = map[string]workerQueue{"priority": {"priority", 1.5, 30}}

func (h history) workerInstance() string { return "worker-" + h.s.name + "-0:9000" }

// jobsProcessed is jobs_processed_total of one queue as the replica saw it.
func (h history) jobsProcessed(q workerQueue, plan replicaPlan) func(int64) float64 {
	c := h.curve("jobs", q.name)
	rate := q.rate * h.s.load
	uptime := rate * 3600 * (1 + 5*hashFloat(h.s.seed, "jobs-uptime", q.name))
	sec := func(t int64) float64 { return float64(t-h.start) / 1000 }
	if plan.workerResetAt > 0 && q.name == "reports" {
		reset := h.start + int64(float64(h.rangeMs)*plan.workerResetAt)
		return func(t int64) float64 {
			if t >= reset {
				return math.Floor(rate * c.integral(sec(reset), sec(t)))
			}
			return math.Floor(uptime + rate*c.integral(0, sec(t)))
		}
	}
	return func(t int64) float64 { return math.Floor(uptime + rate*c.integral(0, sec(t))) }
}

// writeHistory writes the samples of h at the given scrape times, of the
// families in only (nil = all).
func writeHistory(w io.Writer, h history, plan replicaPlan, times []int64, only map[string]bool) error {
	s := h.s
	o := &om{w: bufio.NewWriterSize(w, 1<<16), only: only}
	apiUp := func(i int) func(int64) (float64, bool) {
		return func(t int64) (float64, bool) {
			if h.apiDown(i, t) {
				return 0, true
			}
			return 1, true
		}
	}
	apiOnly := func(i int, f func(int64) float64) func(int64) (float64, bool) {
		return func(t int64) (float64, bool) {
			if h.apiDown(i, t) {
				return 0, false
			}
			return f(t), true
		}
	}

	o.family("http_request_duration_seconds", "histogram", "Latency of HTTP requests.")
	for i, inst := range h.apiInstances() {
		for _, hs := range handlers {
			base := [][2]string{{"job", "api"}, {"instance", inst}, {"handler", hs.handler}, {"method", hs.method}}
			var cs []counter
			for _, cr := range hs.codes {
				cs = append(cs, h.counter(i, hs, cr))
			}
			count := func(t int64) float64 {
				var c float64
				for _, ctr := range cs {
					c += ctr.at(t)
				}
				return c
			}
			for _, le := range buckets {
				frac := h.fraction(hs, le)
				lb := append(append([][2]string(nil), base...), [2]string{"le", strconv.FormatFloat(le, 'g', -1, 64)})
				o.series("http_request_duration_seconds_bucket", lb, times, apiOnly(i, func(t int64) float64 {
					return math.Floor(count(t) * frac)
				}))
			}
			o.series("http_request_duration_seconds_bucket", append(append([][2]string(nil), base...), [2]string{"le", "+Inf"}), times, apiOnly(i, count))
			o.series("http_request_duration_seconds_count", base, times, apiOnly(i, count))
			mean := hs.meanLatency * s.latency
			o.series("http_request_duration_seconds_sum", base, times, apiOnly(i, func(t int64) float64 {
				return math.Round(count(t)*mean*1000) / 1000
			}))
		}
	}

	o.family("http_requests", "counter", "Total HTTP requests.")
	for i, inst := range h.apiInstances() {
		for _, hs := range handlers {
			for _, cr := range hs.codes {
				lb := [][2]string{{"job", "api"}, {"instance", inst}, {"handler", hs.handler}, {"method", hs.method}, {"code", cr.code}}
				o.series("http_requests_total", lb, times, apiOnly(i, h.counter(i, hs, cr).at))
			}
		}
	}

	o.family("jobs_processed", "counter", "Jobs the worker finished.")
	queues := workerQueues
	for _, q := range plan.extraQueues {
		queues = append(queues, extraWorkerQueues[q])
	}
	for _, q := range queues {
		lb := [][2]string{{"job", "worker"}, {"instance", h.workerInstance()}, {"namespace", "batch"}, {"queue", q.name}}
		f := h.jobsProcessed(q, plan)
		o.series("jobs_processed_total", lb, times, func(t int64) (float64, bool) { return f(t), true })
	}

	o.family("worker_queue_depth", "gauge", "Jobs waiting in the worker's queue.")
	depthFrom := h.start
	if plan.queueDepthLate > 0 {
		depthFrom += min(plan.queueDepthLate.Milliseconds(), h.rangeMs/2)
	}
	for _, q := range workerQueues {
		lb := [][2]string{{"job", "worker"}, {"instance", h.workerInstance()}, {"namespace", "batch"}, {"queue", q.name}}
		c := h.curve("depth", q.name)
		key := "depth" + q.name
		o.series("worker_queue_depth", lb, times, func(t int64) (float64, bool) {
			if t < depthFrom {
				return 0, false
			}
			return h.wave(c, q.depth*h.s.load, 0.6, t, key), true
		})
	}

	o.family("kube_pod_info", "gauge", "Information about pod.")
	for i := range h.apiInstances() {
		lb := [][2]string{{"job", "kube-state-metrics"}, {"instance", h.ksmInstance()}, {"namespace", "shop"},
			{"pod", h.apiPod(i)}, {"node", h.nodes()[i]}, {"pod_ip", fmt.Sprintf("10.244.%d.%d", i+1, 17+i)},
			{"created_by_kind", "ReplicaSet"}, {"created_by_name", "api-" + s.name + "-7c9d5b8f4"}}
		o.series("kube_pod_info", lb, times, always(1))
	}

	o.family("node_memory_Active_bytes", "gauge", "Memory information field Active_bytes.")
	for i, n := range h.nodes() {
		base := float64(int64(6+4*i)<<30) * (0.7 + 0.6*hashFloat(s.seed, n))
		lb := [][2]string{{"job", "node-exporter"}, {"instance", h.nodeInstance(n)}, {"namespace", "monitoring"}}
		c := h.curve("mem", n)
		o.series("node_memory_Active_bytes", lb, times, func(t int64) (float64, bool) {
			return h.wave(c, base, 0.15, t, n), true
		})
	}

	o.family("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.")
	for _, n := range h.nodes() {
		lb := [][2]string{{"job", "node-exporter"}, {"instance", h.nodeInstance(n)}, {"namespace", "monitoring"},
			{"nodename", n}, {"release", "6.8.0-45-generic"}, {"machine", "x86_64"}, {"sysname", "Linux"}}
		o.series("node_uname_info", lb, times, always(1))
	}

	o.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
	for i, inst := range h.apiInstances() {
		base := float64(180<<20) * (0.8 + 0.5*hashFloat(s.seed, inst))
		lb := [][2]string{{"job", "api"}, {"instance", inst}, {"namespace", "shop"}, {"pod", h.apiPod(i)}}
		c := h.curve("rss", inst)
		o.series("process_resident_memory_bytes", lb, times, apiOnly(i, func(t int64) float64 {
			from, _ := h.processStart(i, t)
			// Memory grows after a (re)start and levels off.
			warm := 1 - 0.4*math.Exp(-float64(t-from)/float64(20*time.Minute.Milliseconds()))
			return h.wave(c, base*warm, 0.1, t, inst)
		}))
	}

	o.family("up", "gauge", "Whether the target was scraped successfully.")
	for i, inst := range h.apiInstances() {
		o.series("up", [][2]string{{"job", "api"}, {"instance", inst}, {"namespace", "shop"}, {"pod", h.apiPod(i)}}, times, apiUp(i))
	}
	o.series("up", [][2]string{{"job", "kube-state-metrics"}, {"instance", h.ksmInstance()}, {"namespace", "monitoring"}}, times, always(1))
	for _, n := range h.nodes() {
		o.series("up", [][2]string{{"job", "node-exporter"}, {"instance", h.nodeInstance(n)}, {"namespace", "monitoring"}}, times, always(1))
	}

	if _, err := o.w.WriteString("# EOF\n"); err != nil {
		return err
	}
	return o.w.Flush()
}
