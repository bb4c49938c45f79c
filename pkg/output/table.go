package output

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// newTable returns a table styled like kubectl's: no borders, upper-case headers, columns
// separated by blanks. Headers are upper-cased by the caller: tablewriter's own formatting
// would turn pod_name into "POD NAME", which reads as two columns.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowTop: tw.Off, ShowBottom: tw.Off, ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
			Row: tw.CellConfig{
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
			// Sparklines start with blanks where a series has no data yet.
			Behavior: tw.Behavior{TrimSpace: tw.Off},
		}),
	)
}

// WriteRows writes rows under header in the style of every table the plugin prints, kubectl's:
// headers upper-cased, no borders, blank-separated columns, no trailing blanks.
func WriteRows(w io.Writer, header []string, rows [][]string) error {
	g := grid{rows: rows}
	for _, h := range header {
		g.header = append(g.header, strings.ToUpper(h))
	}
	return g.render(w)
}

// grid is a table before rendering, with an optional line above it for what every row shares.
type grid struct {
	note   string
	header []string
	rows   [][]string
}

func (g *grid) addColumn(name string, cells []string) {
	g.header = append(g.header, name)
	for i := range g.rows {
		g.rows[i] = append(g.rows[i], cells[i])
	}
}

func (g *grid) render(w io.Writer) error {
	var buf bytes.Buffer
	t := newTable(&buf)
	h := make([]any, len(g.header))
	for i, s := range g.header {
		h[i] = s
	}
	t.Header(h...)
	for _, r := range g.rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	var out strings.Builder
	if g.note != "" {
		out.WriteString(g.note + "\n")
	}
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// width is the widest rendered line, in terminal columns.
func (g *grid) width() int {
	saved := g.note
	g.note = ""
	defer func() { g.note = saved }()
	var buf bytes.Buffer
	if err := g.render(&buf); err != nil {
		return math.MaxInt
	}
	wd := 0
	for line := range strings.Lines(buf.String()) {
		wd = max(wd, twwidth.Width(strings.TrimRight(line, "\n")))
	}
	return wd
}

// tableStyle says how much of the table machinery applies.
type tableStyle struct {
	fold bool // move what every row shares into the note line
	wide bool // add the STORE(S) column, always draw the trend
}

// WriteTable prints a query result for people: a row per series, every label in its column.
func WriteTable(w io.Writer, v parser.Value) error {
	return writeStyledTable(w, v, Options{}, tableStyle{})
}

func writeTable(w io.Writer, v parser.Value, o Options, wide bool) error {
	return writeStyledTable(w, v, o, tableStyle{fold: true, wide: wide})
}

func writeStyledTable(w io.Writer, v parser.Value, o Options, st tableStyle) error {
	switch v := v.(type) {
	case promql.Vector:
		if len(v) == 0 {
			_, err := fmt.Fprintln(w, "No series.")
			return err
		}
		return vectorGrid(v, o, st).render(w)
	case promql.Matrix:
		if len(v) == 0 {
			_, err := fmt.Fprintln(w, "No series.")
			return err
		}
		return matrixGrid(v, o, st).render(w)
	case promql.Scalar:
		_, err := fmt.Fprintf(w, "%s   %s\n", FormatFloat(v.V), FormatTime(v.T))
		return err
	case promql.String:
		_, err := fmt.Fprintf(w, "%s   %s\n", v.V, FormatTime(v.T))
		return err
	}
	return fmt.Errorf("unsupported result type %T", v)
}

// labelGrid starts a grid with a column per label, the shared ones folded into the note.
func labelGrid(sets []labels.Labels, o Options, st tableStyle) *grid {
	cols := visibleColumns(sets, o)
	var constant []string
	if st.fold {
		constant, cols = splitConstant(sets, cols)
		// A table without a single label column no longer says what its rows are; one series'
		// metric name (or first label) stays in the table.
		if len(cols) == 0 && len(constant) > 0 {
			cols, constant = constant[:1], constant[1:]
		}
	}
	g := &grid{note: labelText(sets[0], constant, "  ")}
	for _, c := range cols {
		g.header = append(g.header, headerName(c))
	}
	g.rows = make([][]string, len(sets))
	for i, ls := range sets {
		row := make([]string, 0, len(cols)+6)
		for _, c := range cols {
			row = append(row, ls.Get(c))
		}
		g.rows[i] = row
	}
	return g
}

// foldTime puts a time every row shares into the note, or else adds it as a column.
func (g *grid) foldTime(fold bool, column, prefix string, ts []int64) {
	same := true
	for _, t := range ts[1:] {
		same = same && t == ts[0]
	}
	if fold && same {
		g.note = strings.TrimSpace(g.note + "  " + prefix + FormatTime(ts[0]))
		return
	}
	cells := make([]string, len(ts))
	for i, t := range ts {
		cells[i] = FormatTime(t)
	}
	g.addColumn(column, cells)
}

// foldLastTime notes when a range result's series last had a sample. Folded, the latest such
// time goes into the note and only the series that ended earlier (say, a pod that went away) get
// a LAST AT cell, in a short form: the column would otherwise take the room of the trend.
func (g *grid) foldLastTime(fold bool, ts []int64) {
	if !fold {
		g.foldTime(false, "LAST AT", "", ts)
		return
	}
	latest := slices.Max(ts)
	g.note = strings.TrimSpace(g.note + "  last @ " + FormatTime(latest))
	day := time.UnixMilli(latest).UTC().Format(time.DateOnly)
	cells := make([]string, len(ts))
	early := false
	for i, t := range ts {
		if t == latest {
			continue
		}
		early = true
		cells[i] = FormatTime(t)
		if tt := time.UnixMilli(t).UTC(); tt.Format(time.DateOnly) == day {
			cells[i] = tt.Format("15:04:05.999Z")
		}
	}
	if early {
		g.addColumn("LAST AT", cells)
	}
}

func (g *grid) addSources(sets []labels.Labels, o Options) {
	if o.Sources == nil {
		return
	}
	cells := make([]string, len(sets))
	name := "STORE"
	for i, ls := range sets {
		src := o.Sources(ls)
		if len(src) > 1 {
			name = "STORES"
		}
		cells[i] = strings.Join(src, ",")
	}
	g.addColumn(name, cells)
}

func vectorGrid(v promql.Vector, o Options, st tableStyle) *grid {
	sets := make([]labels.Labels, len(v))
	vals := make([]string, len(v))
	ts := make([]int64, len(v))
	for i, s := range v {
		sets[i], ts[i] = s.Metric, s.T
		vals[i] = formatValue(s.F)
		if s.H != nil {
			vals[i] = histogramSummary(s.H)
		}
	}
	g := labelGrid(sets, o, st)
	g.addColumn("VALUE", vals)
	g.foldTime(st.fold, "TIMESTAMP", "@ ", ts)
	if st.wide {
		g.addSources(sets, o)
	}
	return g
}

// matrixGrid summarises each series of a range result in one row; the points themselves are
// for -o json, csv or graph.
func matrixGrid(m promql.Matrix, o Options, st tableStyle) *grid {
	sets := make([]labels.Labels, len(m))
	for i, s := range m {
		sets[i] = s.Metric
	}
	g := labelGrid(sets, o, st)
	points, mins, maxs, lasts := make([]string, len(m)), make([]string, len(m)), make([]string, len(m)), make([]string, len(m))
	lastTs := make([]int64, len(m))
	for i, s := range m {
		points[i] = strconv.Itoa(len(s.Floats) + len(s.Histograms))
		lo, hi, n := math.Inf(1), math.Inf(-1), 0
		for _, p := range s.Floats {
			if !math.IsNaN(p.F) {
				lo, hi, n = math.Min(lo, p.F), math.Max(hi, p.F), n+1
			}
		}
		mins[i], maxs[i] = "-", "-"
		switch {
		case n > 0:
			mins[i], maxs[i] = formatValue(lo), formatValue(hi)
		case len(s.Floats) > 0:
			mins[i], maxs[i] = "NaN", "NaN"
		}
		if len(s.Floats) > 0 {
			p := s.Floats[len(s.Floats)-1]
			lasts[i], lastTs[i] = formatValue(p.F), p.T
		}
		if len(s.Histograms) > 0 && (len(s.Floats) == 0 || s.Histograms[len(s.Histograms)-1].T >= lastTs[i]) {
			p := s.Histograms[len(s.Histograms)-1]
			lasts[i], lastTs[i] = histogramSummary(p.H), p.T
		}
	}
	g.addColumn("POINTS", points)
	g.addColumn("MIN", mins)
	g.addColumn("MAX", maxs)
	g.addColumn("LAST", lasts)
	g.foldLastTime(st.fold, lastTs)
	if st.wide {
		g.addSources(sets, o)
	}

	t0, t1, step := timeSpan(m)
	slots := 1
	if step > 0 {
		slots = int((t1-t0)/step) + 1
	}
	if slots < 2 {
		return g
	}
	n := min(maxTrend, slots)
	if !st.wide {
		// The trend is a glance aid: it only joins the table if the table still fits.
		n = min(n, o.width()-g.width()-3)
		if n < min(minTrend, slots) {
			return g
		}
	}
	trends := make([]string, len(m))
	for i, s := range m {
		trends[i] = sparkline(s.Floats, t0, t1+step, n)
	}
	g.addColumn("TREND", trends)
	return g
}

// Bounds on the TREND column's width, in characters.
const (
	maxTrend = 24
	minTrend = 8
)

// timeSpan returns the first and last timestamps of m and its resolution: the smallest gap
// between two samples of a series (the step of a range query).
func timeSpan(m promql.Matrix) (t0, t1, step int64) {
	t0, t1 = math.MaxInt64, math.MinInt64
	note := func(t int64, prev *int64) {
		t0, t1 = min(t0, t), max(t1, t)
		if *prev != math.MinInt64 && t > *prev && (step == 0 || t-*prev < step) {
			step = t - *prev
		}
		*prev = t
	}
	for _, s := range m {
		prev := int64(math.MinInt64)
		for _, p := range s.Floats {
			note(p.T, &prev)
		}
		prev = math.MinInt64
		for _, p := range s.Histograms {
			note(p.T, &prev)
		}
	}
	if t0 > t1 {
		return 0, 0, 0
	}
	return t0, t1, step
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws points in n characters spanning [t0, t1), each the mean of the points that fall
// in it, scaled between the series' own minimum and maximum; a blank is time without data.
func sparkline(points []promql.FPoint, t0, t1 int64, n int) string {
	sums, counts := make([]float64, n), make([]int, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if math.IsNaN(p.F) || math.IsInf(p.F, 0) || p.T < t0 || p.T >= t1 {
			continue
		}
		i := int((p.T - t0) * int64(n) / (t1 - t0))
		sums[i] += p.F
		counts[i]++
	}
	for i := range sums {
		if counts[i] > 0 {
			sums[i] /= float64(counts[i])
			lo, hi = math.Min(lo, sums[i]), math.Max(hi, sums[i])
		}
	}
	out := make([]rune, n)
	for i := range out {
		switch {
		case counts[i] == 0:
			out[i] = ' '
		case hi == lo:
			out[i] = sparks[len(sparks)/2-1]
		default:
			out[i] = sparks[int(math.Round((sums[i]-lo)/(hi-lo)*float64(len(sparks)-1)))]
		}
	}
	return string(out)
}

// histogramSummary is a native histogram in a table cell: its count and sum, not its buckets.
func histogramSummary(h *histogram.FloatHistogram) string {
	return "count=" + formatValue(h.Count) + " sum=" + formatValue(h.Sum)
}

// FormatFloat prints a sample value as Prometheus does.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// FormatTime prints a millisecond timestamp in RFC 3339, UTC.
func FormatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// WriteSeriesTable prints label sets, a row each, a column per label name.
func WriteSeriesTable(w io.Writer, series []labels.Labels) error {
	if len(series) == 0 {
		_, err := fmt.Fprintln(w, "No series.")
		return err
	}
	g := labelGrid(series, Options{}, tableStyle{})
	return g.render(w)
}
