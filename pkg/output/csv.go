package output

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// WriteCSV writes one row per sample (a range result's every point), after a header row: a column
// per label name (the sorted union, __name__ first), then timestamp (RFC 3339), unix (seconds)
// and value. Results with native histograms get histogram_count and histogram_sum columns, the
// value column staying empty on histogram rows. Quoting follows RFC 4180.
func WriteCSV(w io.Writer, v parser.Value) error {
	cw := csv.NewWriter(w)
	var err error
	switch v := v.(type) {
	case promql.Vector:
		err = vectorCSV(cw, v)
	case promql.Matrix:
		err = matrixCSV(cw, v)
	case promql.Scalar:
		err = writeRows(cw, []string{"timestamp", "unix", "value"}, []string{FormatTime(v.T), unixSeconds(v.T), FormatFloat(v.V)})
	case promql.String:
		err = writeRows(cw, []string{"timestamp", "unix", "value"}, []string{FormatTime(v.T), unixSeconds(v.T), v.V})
	default:
		return fmt.Errorf("unsupported result type %T", v)
	}
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func writeRows(cw *csv.Writer, rows ...[]string) error {
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// csvLayout holds the columns of a CSV result.
type csvLayout struct {
	names      []string
	histograms bool
}

func (l csvLayout) header() []string {
	h := append(append([]string{}, l.names...), "timestamp", "unix", "value")
	if l.histograms {
		h = append(h, "histogram_count", "histogram_sum")
	}
	return h
}

func (l csvLayout) row(ls labels.Labels, t int64, f float64, h *histogram.FloatHistogram) []string {
	r := make([]string, 0, len(l.names)+5)
	for _, n := range l.names {
		r = append(r, ls.Get(n))
	}
	r = append(r, FormatTime(t), unixSeconds(t))
	switch {
	case h != nil:
		r = append(r, "", FormatFloat(h.Count), FormatFloat(h.Sum))
	case l.histograms:
		r = append(r, FormatFloat(f), "", "")
	default:
		r = append(r, FormatFloat(f))
	}
	return r
}

func vectorCSV(cw *csv.Writer, v promql.Vector) error {
	sets := make([]labels.Labels, len(v))
	l := csvLayout{}
	for i, s := range v {
		sets[i] = s.Metric
		l.histograms = l.histograms || s.H != nil
	}
	l.names = labelColumns(sets)
	if err := cw.Write(l.header()); err != nil {
		return err
	}
	for _, s := range v {
		if err := cw.Write(l.row(s.Metric, s.T, s.F, s.H)); err != nil {
			return err
		}
	}
	return nil
}

func matrixCSV(cw *csv.Writer, m promql.Matrix) error {
	sets := make([]labels.Labels, len(m))
	l := csvLayout{}
	for i, s := range m {
		sets[i] = s.Metric
		l.histograms = l.histograms || len(s.Histograms) > 0
	}
	l.names = labelColumns(sets)
	if err := cw.Write(l.header()); err != nil {
		return err
	}
	for _, s := range m {
		// Floats and histograms of one series are each in time order; interleave them.
		fs, hs := s.Floats, s.Histograms
		for len(fs) > 0 || len(hs) > 0 {
			var r []string
			if len(hs) == 0 || (len(fs) > 0 && fs[0].T <= hs[0].T) {
				r = l.row(s.Metric, fs[0].T, fs[0].F, nil)
				fs = fs[1:]
			} else {
				r = l.row(s.Metric, hs[0].T, 0, hs[0].H)
				hs = hs[1:]
			}
			if err := cw.Write(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// unixSeconds prints a millisecond timestamp as Unix seconds, with decimals only when needed.
func unixSeconds(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}
