package output

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// evalTime is the evaluation time of the fixtures: 2025-03-14T09:30:00Z.
const evalTime = int64(1741944600000)

// replicaLabels are the replica label names the fixtures carry.
var replicaLabels = []string{"prometheus_replica"}

// instantFixture is an instant query's answer: every row shares __name__, job and namespace and
// the timestamp, and carries a replica label that deduplication would leave out.
func instantFixture() promql.Vector {
	row := func(instance, pod, replica string, v float64) promql.Sample {
		return promql.Sample{
			Metric: labels.FromStrings("__name__", "up", "job", "api", "namespace", "shop",
				"instance", instance, "pod", pod, "prometheus_replica", replica),
			T: evalTime, F: v,
		}
	}
	return promql.Vector{
		row("10.0.0.1:8080", "api-7d9f-abcde", "prometheus-k8s-0", 1),
		row("10.0.0.2:8080", "api-7d9f-fghij", "prometheus-k8s-1", 1),
		row("10.0.0.3:8080", "api-7d9f-klmno", "prometheus-k8s-0", 0),
	}
}

// rangeFixture is an hour at a one-minute step of three request rates: a rising one, a steady one
// with a ten-minute gap, and a falling one that ends early.
func rangeFixture() promql.Matrix {
	start := evalTime - 3600_000
	series := func(pod string, f func(i int) float64, from, to int) promql.Series {
		s := promql.Series{Metric: labels.FromStrings("job", "api", "namespace", "shop", "pod", pod, "code", "200")}
		for i := from; i <= to; i++ {
			v := f(i)
			if math.IsInf(v, -1) {
				continue
			}
			s.Floats = append(s.Floats, promql.FPoint{T: start + int64(i)*60_000, F: v})
		}
		return s
	}
	return promql.Matrix{
		series("api-7d9f-abcde", func(i int) float64 { return 200 + 20*float64(i) + 150*math.Sin(float64(i)/6) }, 0, 60),
		series("api-7d9f-fghij", func(i int) float64 {
			if i >= 25 && i < 35 {
				return math.Inf(-1) // no sample
			}
			return 800 + 40*math.Cos(float64(i)/4)
		}, 0, 60),
		series("api-7d9f-klmno", func(i int) float64 { return 1500 - 25*float64(i) }, 0, 45),
	}
}

// histogramFixture is an instant vector with a native histogram next to a float.
func histogramFixture() promql.Vector {
	h := &histogram.FloatHistogram{
		Count: 1234, Sum: 56.789, Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets: []float64{1000, 200, 32},
	}
	return promql.Vector{
		{Metric: labels.FromStrings("__name__", "http_request_duration_seconds", "job", "api"), T: evalTime, H: h},
		{Metric: labels.FromStrings("__name__", "http_request_duration_seconds_count", "job", "api"), T: evalTime, F: 1234},
	}
}
