package frontend

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// memStore is a storage.Queryable over series held in memory, recording the time ranges it is
// asked for, so that tests can tell which stretches a query read.
type memStore struct {
	series []memSeries
	mu     sync.Mutex
	asked  [][2]int64 // mint, maxt of every Querier
	fail   func() error
}

type memSeries struct {
	lset    labels.Labels
	samples []chunks.Sample
}

type fsample struct {
	t int64
	f float64
}

func (s fsample) T() int64                      { return s.t }
func (s fsample) ST() int64                     { return 0 }
func (s fsample) F() float64                    { return s.f }
func (s fsample) H() *histogram.Histogram       { return nil }
func (s fsample) FH() *histogram.FloatHistogram { return nil }
func (s fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fsample) Copy() chunks.Sample           { return s }

func (m *memStore) Querier(mint, maxt int64) (storage.Querier, error) {
	m.mu.Lock()
	m.asked = append(m.asked, [2]int64{mint, maxt})
	m.mu.Unlock()
	return &memQuerier{m: m, mint: mint, maxt: maxt}, nil
}

func (m *memStore) reset() [][2]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.asked
	m.asked = nil
	return a
}

type memQuerier struct {
	m          *memStore
	mint, maxt int64
}

func (q *memQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if q.m.fail != nil {
		if err := q.m.fail(); err != nil {
			return storage.ErrSeriesSet(err)
		}
	}
	var out []storage.Series
	for _, s := range q.m.series {
		ok := true
		for _, m := range ms {
			if !m.Matches(s.lset.Get(m.Name)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var in []chunks.Sample
		for _, x := range s.samples {
			if x.T() >= q.mint && x.T() <= q.maxt {
				in = append(in, x)
			}
		}
		if len(in) > 0 {
			out = append(out, storage.NewListSeries(s.lset, in))
		}
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &sliceSet{series: out, i: -1}
}

func (q *memQuerier) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (q *memQuerier) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (q *memQuerier) Close() error { return nil }

type sliceSet struct {
	series []storage.Series
	i      int
}

func (s *sliceSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *sliceSet) At() storage.Series                { return s.series[s.i] }
func (s *sliceSet) Err() error                        { return nil }
func (s *sliceSet) Warnings() annotations.Annotations { return nil }

// testData is six hours of a counter with resets and a gauge, per instance, scraped every 15s
// with a gap in one instance.
func testData(from int64) *memStore {
	m := &memStore{}
	for inst, name := range []string{"a", "b", "c"} {
		var counter, gauge []chunks.Sample
		c := 0.0
		for i := range 6 * 240 {
			t := from + int64(i)*15_000 + int64(inst)*1000
			if inst == 1 && i > 500 && i < 560 {
				continue // a gap longer than the lookback
			}
			c += float64(i%7 + inst)
			if i%300 == 299 {
				c = 0 // a reset
			}
			counter = append(counter, fsample{t, c})
			gauge = append(gauge, fsample{t, float64((i*(inst+3))%97) / 3})
		}
		m.series = append(m.series,
			memSeries{labels.FromStrings("__name__", "requests_total", "instance", name, "job", "api"), counter},
			memSeries{labels.FromStrings("__name__", "temperature", "instance", name, "job", "api"), gauge})
	}
	return m
}
