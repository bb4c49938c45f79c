// Package frontend gives range and instant queries what a Thanos Query Frontend in front of a
// Querier gives them: range queries split at interval boundaries and evaluated in parallel,
// retries of transient store and tunnel failures, a results cache of split parts, and a
// slow-query log.
package frontend

import (
	"math"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Part is one piece of a split range query: evaluation timestamps Start, Start+Step, … End, in
// milliseconds, all on the original query's grid.
type Part struct {
	Start, End int64
}

// Split cuts the range query [start, end] (ms) with step (ms) at interval boundaries. Each
// part ends on the last step before a multiple of interval since the Unix epoch, so that the
// parts of a dashboard's successive refreshes line up and their results can be cached; the next
// part starts one step later. Every part keeps the original grid (start + k·step), which is why
// the union of the parts' points is exactly the points of the unsplit query. An interval of 0,
// or a range within one interval, gives the query back whole.
func Split(start, end, step int64, interval time.Duration) []Part {
	iv := interval.Milliseconds()
	if iv <= 0 || step <= 0 || end <= start {
		return []Part{{start, end}}
	}
	var parts []Part
	for s := start; s <= end; {
		e := lastStepBefore(s, step, iv)
		if e >= end {
			e = end
		}
		parts = append(parts, Part{s, e})
		if e == end {
			break
		}
		s = e + step
	}
	return parts
}

// lastStepBefore returns the last timestamp on the grid of t that is before the next interval
// boundary after t; t itself when the next grid point already crosses it.
func lastStepBefore(t, step, iv int64) int64 {
	next := floorDiv(t, iv)*iv + iv
	// The grid point at or after next, minus one step.
	k := (next - t + step - 1) / step
	return t + (k-1)*step
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// pinAtModifiers replaces `@ start()` and `@ end()` with the original query's start and end
// (ms), so that each part still evaluates them at the whole query's bounds rather than its own.
// It returns qs unchanged when the query has neither.
func pinAtModifiers(expr parser.Expr, qs string, start, end int64) string {
	changed := false
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			changed = pin(&n.StartOrEnd, &n.Timestamp, start, end) || changed
		case *parser.SubqueryExpr:
			changed = pin(&n.StartOrEnd, &n.Timestamp, start, end) || changed
		}
		return nil
	})
	if !changed {
		return qs
	}
	return expr.String()
}

func pin(which *parser.ItemType, ts **int64, start, end int64) bool {
	var v int64
	switch *which {
	case parser.START:
		v = start
	case parser.END:
		v = end
	default:
		return false
	}
	*ts, *which = &v, 0
	return true
}

// timeReach says how far, relative to an evaluation timestamp, the data behind it can lie, and
// the latest fixed time (@ modifier) it reads at: a point is final only once both are older than
// the freshness window.
type timeReach struct {
	ahead int64 // ms: the largest negative offset, which reads data after the timestamp
	maxAt int64 // ms: the latest @ timestamp; math.MinInt64 when there is none
}

func reachOf(expr parser.Expr) timeReach {
	r := timeReach{maxAt: math.MinInt64}
	note := func(ts *int64, offset time.Duration) {
		if ts != nil {
			r.maxAt = max(r.maxAt, *ts)
		}
		if offset < 0 {
			r.ahead = max(r.ahead, (-offset).Milliseconds())
		}
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			note(n.Timestamp, n.OriginalOffset)
		case *parser.SubqueryExpr:
			note(n.Timestamp, n.OriginalOffset)
		}
		return nil
	})
	return r
}
