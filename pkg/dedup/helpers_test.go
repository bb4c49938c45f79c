package dedup

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// sample holds exactly one of a float, a histogram or a float histogram.
type sample struct {
	t  int64
	f  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s sample) typ() chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

func (s sample) String() string {
	switch {
	case s.h != nil:
		return fmt.Sprintf("%d:H{count=%d hint=%d}", s.t, s.h.Count, s.h.CounterResetHint)
	case s.fh != nil:
		return fmt.Sprintf("%d:FH{count=%g hint=%d}", s.t, s.fh.Count, s.fh.CounterResetHint)
	}
	return fmt.Sprintf("%d:%g", s.t, s.f)
}

// f builds float samples from alternating timestamps and values.
func f(tv ...float64) []sample {
	out := make([]sample, 0, len(tv)/2)
	for i := 0; i+1 < len(tv); i += 2 {
		out = append(out, sample{t: int64(tv[i]), f: tv[i+1]})
	}
	return out
}

func hist(t int64, count uint64, hint histogram.CounterResetHint) sample {
	return sample{t: t, h: &histogram.Histogram{
		CounterResetHint: hint, Schema: 0, ZeroThreshold: 0.001,
		ZeroCount: count, Count: count, Sum: float64(count),
	}}
}

func fhist(t int64, count float64, hint histogram.CounterResetHint) sample {
	return sample{t: t, fh: &histogram.FloatHistogram{
		CounterResetHint: hint, Schema: 0, ZeroThreshold: 0.001,
		ZeroCount: count, Count: count, Sum: count,
	}}
}

// sliceIter behaves like Prometheus's chunk iterators where the interface
// leaves room: AtT after exhaustion reports the last sample, and histograms
// are handed out as copies, as decoding does.
type sliceIter struct {
	s   []sample
	i   int
	err error
}

func newSliceIter(s []sample) *sliceIter { return &sliceIter{s: s, i: -1} }

func (it *sliceIter) Next() chunkenc.ValueType {
	if it.i < len(it.s) {
		it.i++
	}
	return it.typ()
}

func (it *sliceIter) Seek(t timestamp) chunkenc.ValueType {
	if it.i < 0 {
		it.i = 0
	}
	for it.i < len(it.s) && it.s[it.i].t < t {
		it.i++
	}
	return it.typ()
}

func (it *sliceIter) typ() chunkenc.ValueType {
	if it.i < len(it.s) {
		return it.s[it.i].typ()
	}
	return chunkenc.ValNone
}

func (it *sliceIter) cur() sample {
	switch {
	case len(it.s) == 0 || it.i < 0:
		return sample{}
	case it.i >= len(it.s):
		return it.s[len(it.s)-1]
	}
	return it.s[it.i]
}

func (it *sliceIter) At() (int64, float64) { c := it.cur(); return c.t, c.f }

func (it *sliceIter) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	c := it.cur()
	return c.t, c.h.Copy()
}

func (it *sliceIter) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	c := it.cur()
	if c.h != nil {
		return c.t, c.h.ToFloat(nil)
	}
	return c.t, c.fh.Copy()
}

func (it *sliceIter) AtT() int64  { return it.cur().t }
func (it *sliceIter) AtST() int64 { return 0 }

func (it *sliceIter) Err() error {
	if it.i >= len(it.s) {
		return it.err
	}
	return nil
}

type testSeries struct {
	lset    labels.Labels
	samples []sample
}

func (s testSeries) Labels() labels.Labels { return s.lset }
func (s testSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return newSliceIter(s.samples)
}

type testSet struct {
	series []storage.Series
	i      int
	err    error
	warns  annotations.Annotations
	cur    Group
}

func newTestSet(series ...storage.Series) *testSet { return &testSet{series: series, i: -1} }

// Next groups adjacent series of equal labels, as the proxy stage groups a label set's lanes.
func (s *testSet) Next() bool {
	if s.i+1 >= len(s.series) {
		s.i = len(s.series)
		return false
	}
	s.i++
	start := s.i
	for s.i+1 < len(s.series) && labels.Equal(s.series[s.i+1].Labels(), s.series[start].Labels()) {
		s.i++
	}
	s.cur = Group{Labels: s.series[start].Labels(), Lanes: s.series[start : s.i+1]}
	return true
}

func (s *testSet) At() *Group                        { return &s.cur }
func (s *testSet) Err() error                        { return s.err }
func (s *testSet) Warnings() annotations.Annotations { return s.warns }

// replicas gives each sample list the same labels, as a store would after
// removing the replica label.
func replicas(lset labels.Labels, reps ...[]sample) []storage.Series {
	out := make([]storage.Series, len(reps))
	for i, r := range reps {
		out[i] = testSeries{lset: lset, samples: r}
	}
	return out
}

func collect(t testing.TB, it chunkenc.Iterator) []sample {
	t.Helper()
	var out []sample
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		out = append(out, at(it, typ))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator error: %v", err)
	}
	return out
}

func at(it chunkenc.Iterator, typ chunkenc.ValueType) sample {
	switch typ {
	case chunkenc.ValHistogram:
		ts, h := it.AtHistogram(nil)
		return sample{t: ts, h: h}
	case chunkenc.ValFloatHistogram:
		ts, fh := it.AtFloatHistogram(nil)
		return sample{t: ts, fh: fh}
	}
	ts, v := it.At()
	return sample{t: ts, f: v}
}

func sameSample(a, b sample) bool {
	if a.t != b.t || a.typ() != b.typ() {
		return false
	}
	switch a.typ() {
	case chunkenc.ValHistogram:
		return a.h.CounterResetHint == b.h.CounterResetHint && a.h.Equals(b.h)
	case chunkenc.ValFloatHistogram:
		return a.fh.CounterResetHint == b.fh.CounterResetHint && a.fh.Equals(b.fh)
	}
	return a.f == b.f || (math.IsNaN(a.f) && math.IsNaN(b.f))
}

func requireSamples(t testing.TB, want, got []sample) {
	t.Helper()
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		ok = sameSample(want[i], got[i])
	}
	if !ok {
		t.Fatalf("samples differ\nwant: %s\ngot:  %s", fmtSamples(want), fmtSamples(got))
	}
}

func fmtSamples(s []sample) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

var errTest = errors.New("store went away")
