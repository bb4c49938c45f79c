package output

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// maxLines caps the series drawn in one chart: beyond eight, lines and colours blur together.
const maxLines = 8

// chart is what the terminal graph and the PNG share: which series to draw, in which order, over
// which ranges, and how the legend names them.
type chart struct {
	title string
	note  string // labels every drawn series shares
	lines []chartLine
	// total counts the series of the result; omitted those left out by the cap; undrawable those
	// without a finite float sample (native histograms, NaN throughout).
	total, omitted, undrawable int
	t0, t1, step               int64
	lo, hi                     float64
}

type chartLine struct {
	points []promql.FPoint
	last   float64
	legend string
}

func newChart(m promql.Matrix, o Options) *chart {
	c := &chart{title: o.Query, total: len(m)}
	type candidate struct {
		s    promql.Series
		last float64
	}
	var cands []candidate
	for _, s := range m {
		last, ok := lastFinite(s.Floats)
		if !ok {
			c.undrawable++
			continue
		}
		cands = append(cands, candidate{s, last})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.last, a.last), labels.Compare(a.s.Metric, b.s.Metric))
	})
	if len(cands) > maxLines {
		c.omitted = len(cands) - maxLines
		cands = cands[:maxLines]
	}
	if len(cands) == 0 {
		return c
	}

	sets := make([]labels.Labels, len(cands))
	drawn := make(promql.Matrix, len(cands))
	for i, cd := range cands {
		sets[i], drawn[i] = cd.s.Metric, promql.Series{Floats: cd.s.Floats}
	}
	names := visibleColumns(sets, o)
	varying := names
	if len(sets) > 1 {
		var constant []string
		constant, varying = splitConstant(sets, names)
		c.note = labelText(sets[0], constant, "  ")
		if c.note == c.title {
			c.note = "" // the query was just a metric name, already in the title
		}
	}
	c.lo, c.hi = math.Inf(1), math.Inf(-1)
	for _, cd := range cands {
		legend := labelText(cd.s.Metric, varying, " ")
		if legend == "" {
			legend = cmp.Or(o.Query, "{}")
		}
		c.lines = append(c.lines, chartLine{points: cd.s.Floats, last: cd.last, legend: legend})
		for _, p := range cd.s.Floats {
			if finite(p.F) {
				c.lo, c.hi = math.Min(c.lo, p.F), math.Max(c.hi, p.F)
			}
		}
	}
	if c.lo == c.hi {
		// A flat line sits mid-height on an axis from zero, which keeps its scale honest.
		switch {
		case c.lo > 0:
			c.lo, c.hi = 0, 2*c.hi
		case c.lo < 0:
			c.lo, c.hi = 2*c.lo, 0
		default:
			c.hi = 1
		}
	}
	c.t0, c.t1, c.step = timeSpan(drawn)
	return c
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func lastFinite(ps []promql.FPoint) (float64, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if finite(ps[i].F) {
			return ps[i].F, true
		}
	}
	return 0, false
}

// frac places t on the time axis, 0 at the start and 1 at the end.
func (c *chart) frac(t int64) float64 {
	if c.t1 == c.t0 {
		return 0.5
	}
	return float64(t-c.t0) / float64(c.t1-c.t0)
}

// height places v on the value axis, 0 at the bottom and 1 at the top.
func (c *chart) height(v float64) float64 {
	return (v - c.lo) / (c.hi - c.lo)
}

// joins reports whether a line connects two consecutive points: not across a gap in the data,
// which shows as a gap in the line.
func (c *chart) joins(a, b promql.FPoint) bool {
	if !finite(a.F) || !finite(b.F) {
		return false
	}
	return c.step == 0 || float64(b.T-a.T) <= 1.5*float64(c.step)
}

// segments calls draw for every line segment of l and point for every isolated point, in the
// coordinates of a w×h grid (y downwards).
func (c *chart) segments(l chartLine, w, h int, draw func(x0, y0, x1, y1 int)) {
	pos := func(p promql.FPoint) (int, int) {
		x := int(math.Round(c.frac(p.T) * float64(w-1)))
		y := int(math.Round((1 - c.height(p.F)) * float64(h-1)))
		return x, y
	}
	for i, p := range l.points {
		if !finite(p.F) {
			continue
		}
		x, y := pos(p)
		joinedBefore := i > 0 && c.joins(l.points[i-1], p)
		if joinedBefore {
			px, py := pos(l.points[i-1])
			draw(px, py, x, y)
			continue
		}
		if i+1 >= len(l.points) || !c.joins(p, l.points[i+1]) {
			draw(x, y, x, y)
		}
	}
}

// line visits the cells of a straight line from (x0, y0) to (x1, y1), both ends included.
func line(x0, y0, x1, y1 int, plot func(x, y int)) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		plot(x0, y0)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(i int) int { return max(i, -i) }

func sign(i int) int {
	switch {
	case i < 0:
		return -1
	case i > 0:
		return 1
	}
	return 0
}

// axisValues labels the top, middle and bottom of the value axis.
func (c *chart) axisValues() (top, mid, bottom string) {
	s := distinctCompact(c.hi, (c.hi+c.lo)/2, c.lo)
	return s[0], s[1], s[2]
}

// timeLabels labels the start, middle and end of the time axis in UTC: the date once, then only
// where the day changes; seconds when the span is short enough to need them.
func (c *chart) timeLabels() (start, mid, end string) {
	t0, t1 := time.UnixMilli(c.t0).UTC(), time.UnixMilli(c.t1).UTC()
	if c.t0 == c.t1 {
		return t0.Format("2006-01-02 15:04:05 UTC"), "", ""
	}
	tm := time.UnixMilli(c.t0 + (c.t1-c.t0)/2).UTC()
	clock := "15:04"
	if t1.Sub(t0) < 10*time.Minute {
		clock = "15:04:05"
	}
	day := func(t time.Time) string { return t.Format("2006-01-02 ") }
	start = day(t0) + t0.Format(clock)
	mid, end = tm.Format(clock), t1.Format(clock)
	if day(tm) != day(t0) {
		mid = day(tm) + mid
	}
	if day(t1) != day(tm) {
		end = day(t1) + end
	}
	return start, mid, end + " UTC"
}

// footnotes say what the chart leaves out.
func (c *chart) footnotes() []string {
	var out []string
	if c.omitted > 0 {
		out = append(out, fmt.Sprintf("showing %d of %d series, those with the highest last value", len(c.lines), len(c.lines)+c.omitted))
	}
	if c.undrawable > 0 {
		out = append(out, fmt.Sprintf("%d series not drawn: no finite float samples (native histograms or NaN)", c.undrawable))
	}
	return out
}
