package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func fmtMiB(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }

// row is one line of the summary table.
type row struct {
	name, ours, ref, ratio, goal, note string
}

type table struct{ rows []row }

func (t *table) add(r row) { t.rows = append(t.rows, r) }

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tOURS (median)\tREFERENCE (median)\tRATIO ours/ref\tGOAL\tNOTES")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.ours, r.ref, r.ratio, r.goal, r.note)
	}
	tw.Flush()
}

// goal formats a pass/miss verdict of ratio against a limit; below says which side is good.
func goal(ratio, limit float64, below bool) string {
	ok := ratio <= limit
	cmp := "≤"
	if !below {
		ok = ratio >= limit
		cmp = "≥"
	}
	v := "MISS"
	if ok {
		v = "PASS"
	}
	return fmt.Sprintf("%s (%s %.1f×)", v, cmp, limit)
}

// engineSummary is the median over queries of each side's median time, and the median over
// queries of the per-query ratio of medians.
func engineSummary(results []*engineResult, v variant) (ours, ref time.Duration, ratio float64) {
	var os, rs []time.Duration
	var ratios []float64
	for _, res := range results {
		for i := range res.queries {
			o, r := median(res.times[v][i]), median(res.times[reference][i])
			os, rs = append(os, o), append(rs, r)
			ratios = append(ratios, float64(o)/float64(r))
		}
	}
	return median(os), median(rs), median(ratios)
}

func engineRows(t *table, results []*engineResult, reps int) {
	label := map[string]string{"instant": "instant", "range": "6 h range, 30 s step"}
	for _, v := range []variant{oursServe, oursProcess, oursInProcess} {
		short := map[variant]string{oursServe: "serve (server vs server)", oursProcess: "process per query", oursInProcess: "in-process"}[v]
		for _, res := range results {
			o, r, ratio := engineSummary([]*engineResult{res}, v)
			t.add(row{name: fmt.Sprintf("engine: %d %s queries, %s", len(res.queries), label[res.kind], short),
				ours: fmtDur(o), ref: fmtDur(r), ratio: fmt.Sprintf("%.2f", ratio),
				note: fmt.Sprintf("%d runs each side", reps)})
		}
		o, r, ratio := engineSummary(results, v)
		// The goal is judged server against server: the Querier is a long-running process too.
		// A process per query adds what every process pays before its query (rows below).
		g := ""
		if v == oursServe {
			g = goal(ratio, 1.0, true)
		}
		n := 0
		for _, res := range results {
			n += len(res.queries)
		}
		t.add(row{name: fmt.Sprintf("engine: all %d, %s", n, short), ours: fmtDur(o), ref: fmtDur(r),
			ratio: fmt.Sprintf("%.2f", ratio), goal: g, note: "median of per-query ratios"})
	}
}

func printEngineDetail(w io.Writer, results []*engineResult) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tQUERY\tOURS serve\tOURS process\tOURS in-process\tQUERIER\tRATIO serve\tRATIO process\tRATIO in-process")
	for _, res := range results {
		for i, q := range res.queries {
			sv, o, in, r := median(res.times[oursServe][i]), median(res.times[oursProcess][i]), median(res.times[oursInProcess][i]), median(res.times[reference][i])
			expr := q.Expr
			if len(expr) > 70 {
				expr = expr[:67] + "..."
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\n", res.kind, expr, fmtDur(sv), fmtDur(o), fmtDur(in), fmtDur(r),
				float64(sv)/float64(r), float64(o)/float64(r), float64(in)/float64(r))
		}
	}
	tw.Flush()
}

func hicardRows(t *table, res *hicardResult, series int) {
	for i, q := range res.queries {
		var ow, tw []time.Duration
		var orss, trss, tidle []int64
		for _, s := range res.ours[i] {
			ow, orss = append(ow, s.wall), append(orss, s.peakKB)
		}
		for _, s := range res.theirs[i] {
			tw, trss, tidle = append(tw, s.wall), append(trss, s.peakKB), append(tidle, s.idleKB)
		}
		name := q.Expr
		note := fmt.Sprintf("%d runs each side", len(ow))
		if len(res.inProcess) > i {
			note += "; in-process " + fmtDur(median(res.inProcess[i]))
		}
		t.add(row{name: "high cardinality wall: " + name, ours: fmtDur(median(ow)), ref: fmtDur(median(tw)),
			ratio: fmt.Sprintf("%.2f", float64(median(ow))/float64(median(tw))), note: note})
		rr := float64(median(orss)) / float64(median(trss))
		t.add(row{name: "high cardinality peak RSS: " + name, ours: fmtMiB(median(orss)), ref: fmtMiB(median(trss)),
			ratio: fmt.Sprintf("%.2f", rr), goal: goal(rr, 0.5, true),
			note: fmt.Sprintf("ours ru_maxrss of the process alone; Querier VmHWM, fresh per query (idle %s)", fmtMiB(median(tidle)))})
		if res.ours[i][0].resultSz != res.theirs[i][0].resultSz {
			t.add(row{name: "  MISMATCH " + name, note: fmt.Sprintf("ours %d series, Querier %d", res.ours[i][0].resultSz, res.theirs[i][0].resultSz)})
		}
	}
	_ = series
}

func coldRows(t *table, res *coldResult) {
	kc := median(res.kubectl[0])
	add := func(name string, ours []time.Duration, g bool, note string) {
		o := median(ours)
		ratio := float64(o) / float64(kc)
		r := row{name: name, ours: fmtDur(o), ref: fmtDur(kc), ratio: fmt.Sprintf("%.2f", ratio), note: note}
		if g {
			r.goal = goal(ratio, 2.0, true)
		}
		t.add(r)
	}
	add(fmt.Sprintf("cold start: `stores`, %d pods via kube", res.stores24), res.ours24[0], true,
		fmt.Sprintf("discovery + tunnels + Info; ref = one kubectl port-forward ready; %d runs", len(res.kubectl[0])))
	add(fmt.Sprintf("cold start: `stores`, %d pods via kube, SPDY (--disable-websocket)", res.stores24), res.ours24SPDY[0], false, "")
	add("cold start: `stores`, 1 pod via kube", res.ours1[0], false, "")
	add("cold start: `stores`, 24 --endpoint (no kube)", res.endpoints24[0], false, "gRPC + Info only")
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func tputRows(t *table, res *tputResult) {
	rate := func(name string) float64 {
		var xs []float64
		for _, d := range res.times[name] {
			xs = append(xs, mbps(res.bytes, d))
		}
		return median(xs)
	}
	kc, direct := rate(tputKubectl), rate(tputDirect)
	for _, name := range []string{tputOursWS, tputOursSPDY} {
		o := rate(name)
		r := row{name: "tunnel throughput: " + name, ours: fmt.Sprintf("%.0f MB/s", o), ref: fmt.Sprintf("%.0f MB/s", kc),
			ratio: fmt.Sprintf("%.2f", o/kc)}
		if name == tputOursWS {
			r.goal = goal(o/kc, 0.9, false)
			r.note = fmt.Sprintf("%d MB per run, %d runs; ref = %s; direct loopback %.0f MB/s", res.bytes/1e6, len(res.times[name]), tputKubectl, direct)
		}
		t.add(r)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
