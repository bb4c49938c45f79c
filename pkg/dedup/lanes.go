package dedup

import (
	"errors"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// SplitOverlapping distributes the chunks of one label set into lanes of
// non-overlapping chunks, the way Thanos's NewOverlapSplit does before its
// dedup: chunks must already be in the proxy's order (see the package
// documentation); each chunk joins the first lane whose last chunk ends
// strictly before the chunk starts, or opens a new lane. Each lane becomes
// one input series of NewSeriesSet, in the returned order. span returns a
// chunk's MinTime and MaxTime as the store reported them. A label set without
// chunks yields no lanes.
func SplitOverlapping[C any](chunks []C, span func(C) (mint, maxt int64)) [][]C {
	if len(chunks) == 0 {
		return nil
	}
	// Most label sets come from one store whose chunks follow each other: one lane, the input
	// itself, without copying it.
	disjoint := true
	for i := 1; i < len(chunks) && disjoint; i++ {
		_, prevMax := span(chunks[i-1])
		mint, _ := span(chunks[i])
		disjoint = prevMax < mint
	}
	if disjoint {
		return [][]C{chunks}
	}
	var (
		lanes [][]C
		ends  []int64 // MaxTime of the last chunk in each lane
	)
next:
	for _, c := range chunks {
		mint, maxt := span(c)
		for i := range lanes {
			if ends[i] < mint {
				lanes[i] = append(lanes[i], c)
				ends[i] = maxt
				continue next
			}
		}
		lanes = append(lanes, []C{c})
		ends = append(ends, maxt)
	}
	return lanes
}

// NewLaneIterator reads one lane (chunk iterators in lane order) the way
// Thanos's querier does before deduplication:
//   - if AppliesCounterResets(fn), float samples become a running total that
//     never decreases (a drop adds the new value on top, like a reset),
//     stale markers are dropped, and samples not after the previous one are
//     skipped;
//   - otherwise the chunks are concatenated, skipping any sample not after
//     the last one of the previous chunk;
//   - in both cases the result is clamped to [mint, maxt], the querier's
//     range (storage.Queryable.Querier's arguments, not the select hints).
//
// As in Thanos, an empty lane fails with an error, except for counter
// functions, where it is merely empty.
func NewLaneIterator(chunks []chunkenc.Iterator, fn string, mint, maxt int64) chunkenc.Iterator {
	return new(Lane).Reset(chunks, fn, mint, maxt)
}

// Lane is NewLaneIterator's iterator, kept whole so that it can be used again: the engine walks
// every selected series through one iterator it hands back to storage.Series.Iterator, and on
// hundreds of thousands of series a fresh set of iterators each time is most of what the
// evaluation allocates.
type Lane struct {
	boundedIterator
	concat concatIterator
	total  totalIterator
}

// Reset makes l read chunks as NewLaneIterator describes and returns the iterator to use, which
// is l itself unless the lane is invalid. The chunk iterators become l's until the next Reset.
func (l *Lane) Reset(chunks []chunkenc.Iterator, fn string, mint, maxt int64) chunkenc.Iterator {
	switch {
	case AppliesCounterResets(fn):
		l.total = totalIterator{chunks: chunks}
		l.boundedIterator = boundedIterator{Iterator: &l.total, mint: mint, maxt: maxt}
	case len(chunks) == 0:
		return errIterator{errors.New("lane has no chunks")}
	default:
		l.concat = concatIterator{chunks: chunks, cur: chunks[0]}
		l.boundedIterator = boundedIterator{Iterator: &l.concat, mint: mint, maxt: maxt}
	}
	return l
}

// boundedIterator limits its iterator to [mint, maxt] with Thanos's
// semantics: Next gives up for good once a sample lies past maxt, while Seek
// only refuses targets past maxt and may itself land on a later sample.
// Samples before mint are skipped, but they still shape what it produces (for
// example a counter total).
type boundedIterator struct {
	chunkenc.Iterator
	mint, maxt int64
}

func (it *boundedIterator) Seek(t timestamp) chunkenc.ValueType {
	if t > it.maxt {
		return chunkenc.ValNone
	}
	return it.Iterator.Seek(max(t, it.mint))
}

func (it *boundedIterator) Next() chunkenc.ValueType {
	typ := it.Iterator.Next()
	if typ == chunkenc.ValNone {
		return chunkenc.ValNone
	}
	if t := it.Iterator.AtT(); t < it.mint {
		if it.Seek(it.mint) == chunkenc.ValNone {
			return chunkenc.ValNone
		}
	}
	if it.Iterator.AtT() > it.maxt {
		return chunkenc.ValNone
	}
	// Reported as found by Next even if the skip to mint moved on to a
	// sample of another type; Thanos does the same.
	return typ
}

// concatIterator walks chunks one after another. Its Seek steps with Next
// rather than seeking inside chunks, and when it moves to the next chunk it
// skips samples not after the last one seen, so chunks whose recorded time
// ranges understate an overlap still never make time go backwards.
type concatIterator struct {
	chunks []chunkenc.Iterator
	i      int
	cur    chunkenc.Iterator
	// typ is the value type Seek reports when no step is needed. Running
	// out of the last chunk does not reset it; Thanos behaves the same.
	typ chunkenc.ValueType
}

func (it *concatIterator) Next() chunkenc.ValueType {
	last := it.cur.AtT()
	if typ := it.cur.Next(); typ != chunkenc.ValNone {
		it.typ = typ
		return typ
	}
	if it.cur.Err() != nil || it.i == len(it.chunks)-1 {
		return chunkenc.ValNone
	}
	it.i++
	it.cur = it.chunks[it.i]
	return it.Seek(last + 1)
}

func (it *concatIterator) Seek(t timestamp) chunkenc.ValueType {
	for it.cur.AtT() < t {
		if it.typ = it.Next(); it.typ == chunkenc.ValNone {
			return chunkenc.ValNone
		}
	}
	return it.typ
}

func (it *concatIterator) At() (int64, float64) { return it.cur.At() }

func (it *concatIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}

func (it *concatIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}

func (it *concatIterator) AtT() int64  { return it.cur.AtT() }
func (it *concatIterator) AtST() int64 { return it.cur.AtST() }
func (it *concatIterator) Err() error  { return it.cur.Err() }

// totalIterator turns the float samples of a lane into a counter total that
// survives resets, so that switching between replicas (or lanes) restarted at
// different times compares comparable numbers. A consequence, shared with
// Thanos, is that resets() over such data sees no resets. Histogram samples
// pass through, but they do not start the total.
type totalIterator struct {
	chunks []chunkenc.Iterator
	i      int
	n      int // float samples folded into total so far
	lastT  int64
	lastV  float64 // raw value of the last float sample
	total  float64
	typ    chunkenc.ValueType
}

func (it *totalIterator) Next() chunkenc.ValueType {
	for it.i < len(it.chunks) {
		c := it.chunks[it.i]
		it.typ = c.Next()
		if it.typ == chunkenc.ValNone {
			it.i++
			return it.Seek(it.lastT + 1)
		}
		if it.typ != chunkenc.ValFloat {
			it.lastT = c.AtT()
			return it.typ
		}
		t, v := c.At()
		switch {
		case math.IsNaN(v):
			// Stale markers would poison the total.
		case it.n == 0:
			it.n, it.lastT, it.lastV, it.total = 1, t, v, v
			return chunkenc.ValFloat
		case t > it.lastT:
			if v >= it.lastV {
				it.total += v - it.lastV
			} else {
				it.total += v
			}
			it.n++
			it.lastT, it.lastV = t, v
			return chunkenc.ValFloat
		case t == it.lastT:
			// A repeated timestamp carries the true last raw value of the
			// previous chunk (downsampled counter chunks end that way); it
			// decides whether the next chunk starts with a reset.
			it.lastV = v
		}
	}
	return chunkenc.ValNone
}

// Seek steps with Next so that no reset between here and t is missed.
func (it *totalIterator) Seek(t timestamp) chunkenc.ValueType {
	for it.lastT < t {
		if it.Next() == chunkenc.ValNone {
			return chunkenc.ValNone
		}
	}
	return it.typ
}

func (it *totalIterator) At() (int64, float64) { return it.lastT, it.total }

func (it *totalIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if it.i >= len(it.chunks) {
		return it.lastT, nil
	}
	return it.chunks[it.i].AtHistogram(h)
}

func (it *totalIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if it.i >= len(it.chunks) {
		return it.lastT, nil
	}
	return it.chunks[it.i].AtFloatHistogram(fh)
}

func (it *totalIterator) AtT() int64 { return it.lastT }

func (it *totalIterator) AtST() int64 {
	if it.i >= len(it.chunks) {
		return 0
	}
	return it.chunks[it.i].AtST()
}

func (it *totalIterator) Err() error {
	if it.i >= len(it.chunks) {
		return nil
	}
	return it.chunks[it.i].Err()
}

type errIterator struct{ err error }

func (errIterator) Next() chunkenc.ValueType          { return chunkenc.ValNone }
func (errIterator) Seek(timestamp) chunkenc.ValueType { return chunkenc.ValNone }
func (errIterator) At() (int64, float64)              { return 0, 0 }
func (errIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return 0, nil
}
func (errIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return 0, nil
}
func (errIterator) AtT() int64   { return 0 }
func (errIterator) AtST() int64  { return 0 }
func (e errIterator) Err() error { return e.err }

// ErrIterator returns an iterator that yields nothing and reports err, for a series whose chunks
// cannot be read.
func ErrIterator(err error) chunkenc.Iterator { return errIterator{err: err} }
