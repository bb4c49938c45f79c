package output

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// newTable returns a table styled like kubectl's: no borders, upper-case headers, columns
// separated by blanks.
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
				Formatting: tw.CellFormatting{AutoFormat: tw.On},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
			Row: tw.CellConfig{
				Alignment: tw.CellAlignment{Global: tw.AlignLeft},
				Padding:   tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
		}),
	)
}

// labelColumns returns the label names to show as columns, sorted with __name__ first.
func labelColumns(sets []labels.Labels) []string {
	var names []string
	seen := map[string]bool{}
	for _, ls := range sets {
		ls.Range(func(l labels.Label) {
			if !seen[l.Name] {
				seen[l.Name] = true
				names = append(names, l.Name)
			}
		})
	}
	slices.Sort(names)
	if i := slices.Index(names, labels.MetricName); i > 0 {
		names = append([]string{labels.MetricName}, slices.Delete(names, i, i+1)...)
	}
	return names
}

func header(names []string) []any {
	h := make([]any, len(names))
	for i, n := range names {
		if n == labels.MetricName {
			n = "name"
		}
		h[i] = n
	}
	return h
}

// WriteTable prints a query result for people: a row per series.
func WriteTable(w io.Writer, v parser.Value) error {
	switch v := v.(type) {
	case promql.Vector:
		return vectorTable(w, v)
	case promql.Matrix:
		return matrixTable(w, v)
	case promql.Scalar:
		_, err := fmt.Fprintf(w, "%s   %s\n", FormatFloat(v.V), FormatTime(v.T))
		return err
	case promql.String:
		_, err := fmt.Fprintf(w, "%s   %s\n", v.V, FormatTime(v.T))
		return err
	}
	return fmt.Errorf("unsupported result type %T", v)
}

func vectorTable(w io.Writer, v promql.Vector) error {
	if len(v) == 0 {
		_, err := fmt.Fprintln(w, "No series.")
		return err
	}
	sets := make([]labels.Labels, len(v))
	for i, s := range v {
		sets[i] = s.Metric
	}
	cols := labelColumns(sets)
	t := newTable(w)
	t.Header(append(header(cols), "value", "timestamp")...)
	for _, s := range v {
		row := make([]string, 0, len(cols)+2)
		for _, c := range cols {
			row = append(row, s.Metric.Get(c))
		}
		val := FormatFloat(s.F)
		if s.H != nil {
			val = s.H.String()
		}
		row = append(row, val, FormatTime(s.T))
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// matrixTable summarises each series of a range result in one row; the points themselves are
// for -o json or -o graph.
func matrixTable(w io.Writer, m promql.Matrix) error {
	if len(m) == 0 {
		_, err := fmt.Fprintln(w, "No series.")
		return err
	}
	sets := make([]labels.Labels, len(m))
	for i, s := range m {
		sets[i] = s.Metric
	}
	cols := labelColumns(sets)
	t := newTable(w)
	t.Header(append(header(cols), "points", "min", "max", "last", "last at")...)
	for _, s := range m {
		row := make([]string, 0, len(cols)+5)
		for _, c := range cols {
			row = append(row, s.Metric.Get(c))
		}
		n := len(s.Floats) + len(s.Histograms)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range s.Floats {
			lo, hi = math.Min(lo, p.F), math.Max(hi, p.F)
		}
		last, lastT := "", int64(0)
		if len(s.Floats) > 0 {
			p := s.Floats[len(s.Floats)-1]
			last, lastT = FormatFloat(p.F), p.T
		}
		if len(s.Histograms) > 0 && s.Histograms[len(s.Histograms)-1].T >= lastT {
			p := s.Histograms[len(s.Histograms)-1]
			last, lastT = p.H.String(), p.T
		}
		minS, maxS := "-", "-"
		if len(s.Floats) > 0 {
			minS, maxS = FormatFloat(lo), FormatFloat(hi)
		}
		row = append(row, strconv.Itoa(n), minS, maxS, last, FormatTime(lastT))
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
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
	cols := labelColumns(series)
	t := newTable(w)
	t.Header(header(cols)...)
	for _, ls := range series {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = ls.Get(c)
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}
