// Command histogram-target is a scrape target for the test bed of
// internal/bed: made-up RPC latencies as a native histogram and, next to it,
// as a classic one, plus a short-lived job whose series end after a few
// scrapes, so that Prometheus writes staleness markers for them.
//
//	histogram-target -listen 127.0.0.1:PORT
//
// Endpoints:
//
//	/metrics?region=R                 rpc_duration_seconds (native) and rpc_classic_duration_seconds
//	                                  (classic) per service; R (eu or us) picks the workload
//	/ephemeral?scraper=ID&answers=N   answers the first N scrapes of each scraper ID, then 503
//	/-/healthy                        200 once serving
//
// The observations are a function of the time since the process started:
// every 100ms tick adds a batch drawn from a generator seeded per region and
// service, and a scrape first catches the histograms up to its own tick. Two
// Prometheus replicas scraping one region therefore see one history, each at
// its own scrape times, as HA replicas of a real target do.
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math"
	"math/rand"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const tick = 100 * time.Millisecond

type service struct {
	name   string
	rate   float64 // requests per second
	median float64 // seconds
	period time.Duration
}

var services = []service{
	{"checkout", 20, 0.08, 3 * time.Minute},
	{"search", 50, 0.02, 2 * time.Minute},
	{"auth", 10, 0.005, 4 * time.Minute},
}

var regions = map[string]float64{"eu": 1, "us": 0.6} // load factor

// Classic buckets as a client library's defaults would be, cut to the range
// these latencies fall in.
var classicBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

type stream struct {
	svc    service
	load   float64
	rng    *rand.Rand
	native prometheus.Observer
	class  prometheus.Observer
}

type region struct {
	mu      sync.Mutex
	done    int64 // ticks already observed
	streams []*stream
	reg     *prometheus.Registry
}

func seed(parts ...string) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(h.Sum64() >> 1)
}

func newRegion(name string, load float64) *region {
	reg := prometheus.NewRegistry()
	native := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                        "rpc_duration_seconds",
		Help:                        "RPC latency (native histogram).",
		NativeHistogramBucketFactor: 1.1,
	}, []string{"service"})
	class := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rpc_classic_duration_seconds",
		Help:    "RPC latency (classic histogram).",
		Buckets: classicBuckets,
	}, []string{"service"})
	reg.MustRegister(native, class)
	r := &region{reg: reg}
	for _, s := range services {
		r.streams = append(r.streams, &stream{
			svc: s, load: load, rng: rand.New(rand.NewSource(seed(name, s.name))),
			native: native.WithLabelValues(s.name), class: class.WithLabelValues(s.name),
		})
	}
	return r
}

// advance observes every tick up to n.
func (r *region) advance(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ; r.done < n; r.done++ {
		at := time.Duration(r.done) * tick
		for _, s := range r.streams {
			// The median latency drifts on a wave, so quantiles move over
			// minutes and a rate over [1m] differs from one over [5m].
			wave := 1 + 0.5*math.Sin(2*math.Pi*at.Seconds()/s.svc.period.Seconds())
			mu := math.Log(s.svc.median * wave)
			k := int(s.svc.rate*s.load*tick.Seconds() + s.rng.Float64())
			for range k {
				v := math.Exp(mu + 0.6*s.rng.NormFloat64())
				s.native.Observe(v)
				// Each observation of the classic histogram carries a trace ID, as an
				// instrumented service's do: the bucket keeps the latest as its exemplar. Made
				// from the tick, not the random source, so that the values stay as they were.
				s.class.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": fmt.Sprintf("%s-%d", s.svc.name, r.done)})
			}
		}
	}
}

type server struct {
	start   time.Time
	regions map[string]*region
	gather  map[string]prometheus.Gatherer

	mu      sync.Mutex
	answers map[string]int
}

func (s *server) ticks() int64 { return int64(time.Since(s.start) / tick) }

func (s *server) metrics(w http.ResponseWriter, req *http.Request) {
	name := req.URL.Query().Get("region")
	r, ok := s.regions[name]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown region %q", name), http.StatusNotFound)
		return
	}
	r.advance(s.ticks())
	promhttp.HandlerFor(s.gather[name], promhttp.HandlerOpts{}).ServeHTTP(w, req)
}

// ephemeral stands for a batch job that finishes: each scraper gets its
// first N answers and then none, so the job's series end on every
// Prometheus that scraped them, after exactly N samples each.
func (s *server) ephemeral(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	id := q.Get("scraper")
	n, err := strconv.Atoi(q.Get("answers"))
	if id == "" || err != nil || n < 1 {
		http.Error(w, "want scraper=ID&answers=N (N >= 1)", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	k := s.answers[id] + 1
	if k <= n {
		s.answers[id] = k
	}
	s.mu.Unlock()
	if k > n {
		http.Error(w, "the job has finished", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP ephemeral_items_processed_total Items the short-lived import job processed.\n")
	fmt.Fprintf(w, "# TYPE ephemeral_items_processed_total counter\n")
	fmt.Fprintf(w, "ephemeral_items_processed_total{task=\"import\"} %d\n", 100*k)
	fmt.Fprintf(w, "# HELP ephemeral_progress_ratio Progress of the short-lived import job.\n")
	fmt.Fprintf(w, "# TYPE ephemeral_progress_ratio gauge\n")
	fmt.Fprintf(w, "ephemeral_progress_ratio{task=\"import\"} %s\n", strconv.FormatFloat(float64(k)/float64(n), 'g', -1, 64))
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9464", "address to serve on")
	flag.Parse()

	s := &server{start: time.Now(), regions: map[string]*region{}, gather: map[string]prometheus.Gatherer{}, answers: map[string]int{}}
	for name, load := range regions {
		r := newRegion(name, load)
		s.regions[name] = r
		s.gather[name] = r.reg
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/ephemeral", s.ephemeral)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	log.Printf("serving on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
