// Package output prints query results: for people as tables and terminal charts (and PNG
// charts), and for programs as the Prometheus HTTP API's response body in JSON or YAML, or as CSV.
package output

import (
	"fmt"
	"io"
	"slices"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// maxAnnotations caps warnings and infos as the Prometheus API does by default.
const maxAnnotations = 10

// WriteJSON writes v as the body of a successful /api/v1/query or /api/v1/query_range response:
// {"status":"success","data":{"resultType":...,"result":...},"warnings":[...],"infos":[...]}.
func WriteJSON(w io.Writer, v parser.Value, query string, annos annotations.Annotations, extraWarnings []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(w)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)

	s.WriteObjectStart()
	s.WriteObjectField("status")
	s.WriteString("success")
	s.WriteMore()
	s.WriteObjectField("data")
	s.WriteObjectStart()
	s.WriteObjectField("resultType")
	s.WriteString(string(v.Type()))
	s.WriteMore()
	s.WriteObjectField("result")
	if err := writeValue(s, v); err != nil {
		return err
	}
	s.WriteObjectEnd()
	warns, infos := annos.AsStrings(query, maxAnnotations, maxAnnotations)
	warns = slices.Concat(extraWarnings, warns)
	writeStrings(s, "warnings", warns)
	writeStrings(s, "infos", infos)
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return s.Flush()
}

// WriteStringsJSON writes a /api/v1/labels or /api/v1/label/<name>/values response body.
func WriteStringsJSON(w io.Writer, values []string, warnings []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(w)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteObjectStart()
	s.WriteObjectField("status")
	s.WriteString("success")
	s.WriteMore()
	s.WriteObjectField("data")
	s.WriteArrayStart()
	for i, v := range values {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteString(v)
	}
	s.WriteArrayEnd()
	writeStrings(s, "warnings", warnings)
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return s.Flush()
}

// WriteSeriesJSON writes a /api/v1/series response body.
func WriteSeriesJSON(w io.Writer, series []labels.Labels, warnings []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(w)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteObjectStart()
	s.WriteObjectField("status")
	s.WriteString("success")
	s.WriteMore()
	s.WriteObjectField("data")
	s.WriteArrayStart()
	for i, ls := range series {
		if i > 0 {
			s.WriteMore()
		}
		WriteLabels(s, ls)
	}
	s.WriteArrayEnd()
	writeStrings(s, "warnings", warnings)
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return s.Flush()
}

func writeStrings(s *jsoniter.Stream, field string, vals []string) {
	writeArray(s, field, vals, s.WriteString)
}

// writeArray writes field as an array of items, and leaves the field out when there are none, as
// the Prometheus API does.
func writeArray[T any](s *jsoniter.Stream, field string, items []T, write func(T)) {
	if len(items) == 0 {
		return
	}
	s.WriteMore()
	s.WriteObjectField(field)
	s.WriteArrayStart()
	for i, v := range items {
		if i > 0 {
			s.WriteMore()
		}
		write(v)
	}
	s.WriteArrayEnd()
}

func writeValue(s *jsoniter.Stream, v parser.Value) error {
	switch v := v.(type) {
	case promql.Vector:
		s.WriteArrayStart()
		for i, smp := range v {
			if i > 0 {
				s.WriteMore()
			}
			writeSample(s, smp)
		}
		s.WriteArrayEnd()
	case promql.Matrix:
		s.WriteArrayStart()
		for i, ser := range v {
			if i > 0 {
				s.WriteMore()
			}
			writeSeries(s, ser)
		}
		s.WriteArrayEnd()
	case promql.Scalar:
		s.WriteArrayStart()
		jsonutil.MarshalTimestamp(v.T, s)
		s.WriteMore()
		jsonutil.MarshalFloat(v.V, s)
		s.WriteArrayEnd()
	case promql.String:
		s.WriteArrayStart()
		jsonutil.MarshalTimestamp(v.T, s)
		s.WriteMore()
		s.WriteString(v.V)
		s.WriteArrayEnd()
	default:
		return fmt.Errorf("unsupported result type %T", v)
	}
	return nil
}

// WriteLabels writes a label set as a JSON object, as the Prometheus API does.
func WriteLabels(s *jsoniter.Stream, ls labels.Labels) {
	s.WriteObjectStart()
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			s.WriteMore()
		}
		first = false
		s.WriteObjectField(l.Name)
		s.WriteString(l.Value)
	})
	s.WriteObjectEnd()
}

func writeSample(s *jsoniter.Stream, smp promql.Sample) {
	s.WriteObjectStart()
	s.WriteObjectField("metric")
	WriteLabels(s, smp.Metric)
	s.WriteMore()
	if smp.H == nil {
		s.WriteObjectField("value")
	} else {
		s.WriteObjectField("histogram")
	}
	s.WriteArrayStart()
	jsonutil.MarshalTimestamp(smp.T, s)
	s.WriteMore()
	if smp.H == nil {
		jsonutil.MarshalFloat(smp.F, s)
	} else {
		jsonutil.MarshalHistogram(smp.H, s)
	}
	s.WriteArrayEnd()
	s.WriteObjectEnd()
}

func writeSeries(s *jsoniter.Stream, ser promql.Series) {
	s.WriteObjectStart()
	s.WriteObjectField("metric")
	WriteLabels(s, ser.Metric)
	writePoints(s, "values", ser.Floats, func(p promql.FPoint) (int64, float64) { return p.T, p.F }, jsonutil.MarshalFloat)
	writePoints(s, "histograms", ser.Histograms,
		func(p promql.HPoint) (int64, *histogram.FloatHistogram) { return p.T, p.H }, jsonutil.MarshalHistogram)
	s.WriteObjectEnd()
}

// writePoints writes the field of [timestamp, value] pairs that follows the metric.
func writePoints[P, V any](s *jsoniter.Stream, field string, pts []P, point func(P) (int64, V), marshal func(V, *jsoniter.Stream)) {
	writeArray(s, field, pts, func(p P) {
		t, v := point(p)
		s.WriteArrayStart()
		jsonutil.MarshalTimestamp(t, s)
		s.WriteMore()
		marshal(v, s)
		s.WriteArrayEnd()
	})
}
