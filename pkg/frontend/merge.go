package frontend

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// mergeMatrices joins the results of consecutive, non-overlapping time ranges, given in time
// order: the points of a series from every range, in time order, and series sorted by labels as
// the engine sorts a range query's result. Points at or before the last one already taken for a
// series are dropped, so ranges that overlap by accident cannot duplicate samples.
func mergeMatrices(ms ...promql.Matrix) promql.Matrix {
	switch n := countNonEmpty(ms); {
	case n == 0:
		return promql.Matrix{}
	case n == 1:
		for _, m := range ms {
			if len(m) > 0 {
				return m
			}
		}
	}
	idx := map[uint64][]int{} // label hash → positions in out with that hash
	var out promql.Matrix
	for _, m := range ms {
		for _, s := range m {
			i := find(out, idx, s.Metric)
			if i < 0 {
				idx[s.Metric.Hash()] = append(idx[s.Metric.Hash()], len(out))
				out = append(out, promql.Series{
					Metric:     s.Metric,
					Floats:     slices.Clone(s.Floats),
					Histograms: slices.Clone(s.Histograms),
				})
				continue
			}
			out[i].Floats = appendAfter(out[i].Floats, s.Floats, func(p promql.FPoint) int64 { return p.T })
			out[i].Histograms = appendAfter(out[i].Histograms, s.Histograms, func(p promql.HPoint) int64 { return p.T })
		}
	}
	slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return out
}

func countNonEmpty(ms []promql.Matrix) int {
	n := 0
	for _, m := range ms {
		if len(m) > 0 {
			n++
		}
	}
	return n
}

func find(out promql.Matrix, idx map[uint64][]int, ls labels.Labels) int {
	for _, i := range idx[ls.Hash()] {
		if labels.Equal(out[i].Metric, ls) {
			return i
		}
	}
	return -1
}

func appendAfter[P any](dst, src []P, ts func(P) int64) []P {
	if len(src) == 0 {
		return dst
	}
	if len(dst) == 0 {
		return append(dst, src...)
	}
	last := ts(dst[len(dst)-1])
	for i, p := range src {
		if ts(p) > last {
			return append(dst, src[i:]...)
		}
	}
	return dst
}

// clip returns the points of m with timestamps in [from, to], dropping series left empty.
func clip(m promql.Matrix, from, to int64) promql.Matrix {
	out := make(promql.Matrix, 0, len(m))
	for _, s := range m {
		c := promql.Series{Metric: s.Metric, Floats: inRange(s.Floats, from, to, func(p promql.FPoint) int64 { return p.T }),
			Histograms: inRange(s.Histograms, from, to, func(p promql.HPoint) int64 { return p.T })}
		if len(c.Floats) > 0 || len(c.Histograms) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func inRange[P any](ps []P, from, to int64, ts func(P) int64) []P {
	lo, _ := slices.BinarySearchFunc(ps, from, func(p P, t int64) int { return cmp64(ts(p), t) })
	hi, found := slices.BinarySearchFunc(ps, to, func(p P, t int64) int { return cmp64(ts(p), t) })
	if found {
		hi++
	}
	if lo >= hi {
		return nil
	}
	return ps[lo:hi]
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
