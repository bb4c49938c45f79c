package bed

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The live scrape target (hack/histogram-target) serves what backfilled
// OpenMetrics cannot carry: native histograms, which need the protobuf
// exposition format, and series that end with staleness markers, which only
// a Prometheus writes, when a target it scraped stops answering.

// ephemeralAnswers is how many scrapes of the short-lived job each europe
// replica gets answered. They differ so that replica 1 still has samples
// after replica 0 wrote its staleness markers.
var ephemeralAnswers = []int{3, 5}

// ephemeralInterval is short so that the job has come and gone, on every
// replica, by the time the rest of the bed is ready.
const ephemeralInterval = 500 * time.Millisecond

func (r *run) histogramTarget(ctx context.Context) error {
	addr := "127.0.0.1:" + strconv.Itoa(r.targetPort)
	t, err := r.ps.start("histogram-target", r.bin("histogram-target"), "-listen", addr)
	if err != nil {
		return err
	}
	// Answering from the first scrape on keeps the count of answered
	// ephemeral scrapes exact.
	c := &http.Client{Timeout: time.Second}
	if err := r.poll(ctx, "histogram-target", []*child{t}, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := get(ctx, c, "http://"+addr+"/-/healthy")
		return err == nil, err
	}); err != nil {
		return err
	}
	r.log.printf("histogram-target ready (pid %d)", t.PID)
	return nil
}

// liveJobs are the scrape jobs of the member on the histogram target: every
// Prometheus scrapes its region's RPC histograms with native histograms on,
// and the europe replicas the short-lived job.
func (r *run) liveJobs(m *member) string {
	var b strings.Builder
	site := m.spec.site.name
	fmt.Fprintf(&b, `- job_name: rpc
  scrape_native_histograms: true
  scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]
  params:
    region: [%s]
  static_configs:
  - targets: ['127.0.0.1:%d']
    labels:
      instance: %q
      namespace: shop
`, site, r.targetPort, "rpc-"+site+"-0:8080")
	if m.spec.Replicas > 1 {
		fmt.Fprintf(&b, `- job_name: ephemeral
  scrape_interval: %s
  scrape_timeout: %s
  metrics_path: /ephemeral
  params:
    scraper: [%s]
    answers: ['%d']
  static_configs:
  - targets: ['127.0.0.1:%d']
    labels:
      instance: %q
      namespace: batch
`, ephemeralInterval, ephemeralInterval, m.short(), ephemeralAnswers[m.ordinal%len(ephemeralAnswers)], r.targetPort, "import-"+site+":9091")
	}
	return b.String()
}

type matrixSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// rawSamples returns the samples a range selector holds at now (staleness
// markers are not among them: the query engine drops them).
func rawSamples(ctx context.Context, base, selector string) ([]matrixSeries, error) {
	var data struct {
		ResultType string         `json:"resultType"`
		Result     []matrixSeries `json:"result"`
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if err := apiGet(ctx, c, base+"/api/v1/query?"+url.Values{"query": {selector}}.Encode(), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %q: result type %s, want matrix", selector, data.ResultType)
	}
	return data.Result, nil
}

// waitEphemeralGone waits until on every europe Prometheus the short-lived
// job's series have all their samples and are gone at now although the
// last one is younger than the lookback: only a staleness marker ends a
// series that early. It returns the latest sample time (ms).
func (r *run) waitEphemeralGone(ctx context.Context, watch []*child) (int64, error) {
	var last int64
	for _, m := range r.members {
		if m.spec.Replicas < 2 {
			continue
		}
		base := "http://127.0.0.1:" + strconv.Itoa(m.web)
		want := ephemeralAnswers[m.ordinal%len(ephemeralAnswers)]
		var state string
		err := r.poll(ctx, "ephemeral series to end on "+m.short(), watch, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			now, err := query(ctx, base, `{job="ephemeral",__name__=~"ephemeral_.*"}`, time.Time{})
			if err != nil {
				return false, err
			}
			raw, err := rawSamples(ctx, base, `ephemeral_items_processed_total[5m]`)
			if err != nil {
				return false, err
			}
			n := 0
			var t int64
			for _, s := range raw {
				n += len(s.Values)
				for _, v := range s.Values {
					if f, ok := v[0].(float64); ok {
						t = max(t, int64(math.Round(f*1000)))
					}
				}
			}
			state = fmt.Sprintf("%d series at now, %d samples in the last 5m", len(now), n)
			if len(now) == 0 && n == want {
				last = max(last, t)
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return 0, fmt.Errorf("%w (%s)", err, state)
		}
	}
	return last, nil
}
