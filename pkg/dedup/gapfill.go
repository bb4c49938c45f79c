package dedup

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// gapfillSeries merges the replicas of one series with the gapfill
// algorithm. Unlike penalty it is not a tree of pairwise merges: all replicas
// are read side by side, and input order only breaks ties (the earlier
// wins), so a third replica is weighed like the second.
type gapfillSeries struct {
	lset     labels.Labels
	replicas []storage.Series
	counter  bool
}

func (s *gapfillSeries) Labels() labels.Labels { return s.lset }

func (s *gapfillSeries) Iterator(prev chunkenc.Iterator) chunkenc.Iterator {
	// The previous series' iterator is reused with its replicas' iterators, as penaltySeries does.
	it, ok := prev.(*gapfillIterator)
	if !ok {
		it = &gapfillIterator{}
	}
	lanes := it.lanes[:0]
	for i, r := range s.replicas {
		var old chunkenc.Iterator
		if i < len(it.lanes) {
			old = it.lanes[i].it
		}
		lanes = append(lanes, gapLane{it: r.Iterator(old)})
	}
	*it = gapfillIterator{lanes: lanes, counter: s.counter, cur: -1}
	return it
}

// gapSample is what the merge needs to remember of one sample. v is only
// read in counter mode, and only for floats.
type gapSample struct {
	t     int64
	v     float64
	ok    bool
	float bool
}

// gapLane is one replica. For the followed replica, head is the sample last
// emitted; for the others it is the next sample not yet considered.
type gapLane struct {
	it   chunkenc.Iterator
	typ  chunkenc.ValueType // of head; ValNone once the replica is exhausted
	head gapSample
	prev gapSample // the sample read just before head

	// The last five gaps between consecutive samples of this replica,
	// whether emitted or not, so that each replica is judged by its own
	// cadence and a replica that was not followed is known when it takes
	// over.
	deltas [5]int64
	n      int

	// lo and hi bracket the time of the last emitted sample at the moment
	// this replica is considered for a switch (see align).
	lo, hi gapSample
}

// interval estimates the replica's scrape interval, 0 while unknown. It is
// the second smallest of the last five deltas: missed scrapes only make
// deltas longer, so up to three of them pass without changing the estimate,
// and one delta that is too short (a restart, two chunks of different
// replicas meeting in a lane) is outvoted. With fewer deltas the smallest is
// the safer guess.
func (l *gapLane) interval() int64 {
	m := min(l.n, len(l.deltas))
	switch m {
	case 0:
		return 0
	case 1:
		return l.deltas[0]
	case 2:
		return min(l.deltas[0], l.deltas[1])
	}
	lo1, lo2 := int64(math.MaxInt64), int64(math.MaxInt64)
	for _, d := range l.deltas[:m] {
		switch {
		case d < lo1:
			lo1, lo2 = d, lo1
		case d < lo2:
			lo2 = d
		}
	}
	return lo2
}

// gapfillIterator follows one replica for as long as it keeps its own
// cadence, and takes samples from another only where the followed one
// misses a scrape:
//
//   - the followed replica's next sample is on time if it comes at most 1.5
//     intervals (its own estimate) after the last emitted sample; then it is
//     emitted, whatever the other replicas have;
//   - if it is late, or the replica is exhausted, the earliest sample of any
//     other replica that lies at least half an interval after the last
//     emitted sample and before the late one is emitted instead, and its
//     replica is followed from then on;
//   - samples of the followed replica closer than a quarter interval to the
//     last emitted one are skipped, so timestamps strictly increase even
//     where a lane joins chunks of two replicas. The margin is looser than
//     for other replicas because an estimate made from one or two deltas
//     may still include a missed scrape, and the followed replica's own
//     samples should not be lost to it.
//
// Staying with the replica that filled a gap, instead of returning to the
// first one, is what keeps switches rare: every switch is a place where
// scrape skew and counter differences between replicas show.
//
// Nothing can be late before an interval is known, from the followed
// replica or (while it has shown fewer than three) from the others, so at
// the start of a series the second sample always comes from the replica of
// the first.
type gapfillIterator struct {
	lanes   []gapLane
	cur     int // followed replica; -1 before the first Next
	done    bool
	typ     chunkenc.ValueType
	lastT   int64
	counter bool

	// Counter mode only: off is added to the followed replica's floats;
	// lastV is the float emitted last (offset included) and lastRaw the same
	// without offset; lastFloat says whether the last emitted sample was a
	// float at all.
	off       float64
	lastV     float64
	lastRaw   float64
	lastFloat bool
}

var _ chunkenc.Iterator = (*gapfillIterator)(nil)

// advance reads the replica's next sample into head.
func (it *gapfillIterator) advance(l *gapLane) {
	l.prev = l.head
	l.typ = l.it.Next()
	if l.typ == chunkenc.ValNone {
		return
	}
	l.head = gapSample{t: l.it.AtT(), ok: true}
	if it.counter && l.typ == chunkenc.ValFloat {
		_, l.head.v = l.it.At()
		l.head.float = true
	}
	if d := l.head.t - l.prev.t; l.prev.ok && d > 0 {
		l.deltas[l.n%len(l.deltas)] = d
		l.n++
	}
}

func (it *gapfillIterator) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	if it.cur < 0 {
		return it.start()
	}
	c := &it.lanes[it.cur]
	iv := c.interval()
	if c.n < 3 {
		iv = it.borrowInterval(iv)
	}
	space := max(iv/2, 1)
	for {
		it.advance(c)
		if c.typ == chunkenc.ValNone || c.head.t >= it.lastT+max(iv/4, 1) {
			break
		}
	}
	// 2*d > 3*iv is d > 1.5*iv without rounding.
	late := c.typ == chunkenc.ValNone || (iv > 0 && 2*(c.head.t-it.lastT) > 3*iv)
	if !late {
		return it.emit(it.cur, false)
	}

	best := -1
	for i := range it.lanes {
		if i == it.cur {
			continue
		}
		o := &it.lanes[i]
		it.catchUp(o, it.lastT+space)
		if o.typ == chunkenc.ValNone || (c.typ != chunkenc.ValNone && o.head.t >= c.head.t) {
			continue
		}
		if best < 0 || o.head.t < it.lanes[best].head.t {
			best = i
		}
	}
	switch {
	case best >= 0:
		return it.emit(best, true)
	case c.typ != chunkenc.ValNone:
		return it.emit(it.cur, false)
	}
	it.done = true
	return chunkenc.ValNone
}

// borrowInterval improves an estimate made from fewer than three deltas,
// which may still be a missed scrape, with those of the other replicas:
// they scrape the same targets at the same interval. Reading them up to the
// last emitted time loses nothing, as no sample there can be emitted any
// more.
func (it *gapfillIterator) borrowInterval(iv int64) int64 {
	for i := range it.lanes {
		if i == it.cur {
			continue
		}
		o := &it.lanes[i]
		for o.typ != chunkenc.ValNone && o.head.t <= it.lastT {
			it.advance(o)
		}
		if oi := o.interval(); oi > 0 && (iv == 0 || oi < iv) {
			iv = oi
		}
	}
	return iv
}

// start reads every replica's first sample and follows the earliest; ties go
// to the earlier replica in input order.
func (it *gapfillIterator) start() chunkenc.ValueType {
	best := -1
	for i := range it.lanes {
		l := &it.lanes[i]
		it.advance(l)
		if l.typ != chunkenc.ValNone && (best < 0 || l.head.t < it.lanes[best].head.t) {
			best = i
		}
	}
	if best < 0 {
		it.done = true
		return chunkenc.ValNone
	}
	return it.emit(best, false)
}

// catchUp drops a replica's samples before limit, noting in lo and hi the
// samples around the last emitted time.
func (it *gapfillIterator) catchUp(o *gapLane, limit int64) {
	o.lo, o.hi = gapSample{}, gapSample{}
	note := func(s gapSample) {
		switch {
		case !s.ok:
		case s.t <= it.lastT:
			o.lo, o.hi = s, gapSample{}
		case !o.hi.ok:
			o.hi = s
		}
	}
	note(o.prev)
	for o.typ != chunkenc.ValNone && o.head.t < limit {
		note(o.head)
		it.advance(o)
	}
	if o.typ != chunkenc.ValNone {
		note(o.head)
	}
}

func (it *gapfillIterator) emit(i int, switched bool) chunkenc.ValueType {
	l := &it.lanes[i]
	if it.counter {
		switch {
		case switched:
			it.align(l, &it.lanes[it.cur])
		case it.lastFloat && l.head.float && l.head.v < it.lastRaw:
			// The followed replica's own value dropped: a reset it
			// recorded, shown as it recorded it.
			it.off = 0
		}
	}
	it.cur = i
	it.typ = l.typ
	it.lastT = l.head.t
	it.lastFloat = l.head.float
	if l.head.float {
		it.lastRaw = l.head.v
		it.lastV = l.head.v + it.off
	}
	return l.typ
}

// align sets the offset for replica to, which takes over from replica from,
// so that a counter neither drops nor jumps where the merge switches.
//
// Rule. Let L be the value emitted last, at time tL, and b the value of to's
// sample being switched to; lo is to's last sample at or before tL and hi
// its first after tL (possibly the sample switched to).
//
//  1. If to's own values fall from lo to hi or from hi to b, to recorded a
//     reset: b is taken as it is (offset 0), so a reset stays a reset.
//  2. If lo and hi are one regular interval of to apart (at most 1.5 times
//     its interval), to's reading at tL is interpolated between them and to
//     is offset so that this reading equals L: from there on it adds only
//     its own increases.
//  3. If hi lies before b (a sample of to just after tL, skipped as too
//     close), hi stands for to's reading at tL and to is offset to read L
//     there.
//  4. Otherwise to has no reading to compare at tL (no earlier sample, or a
//     gap of its own around tL). A drop below L/2, or a drop that from shows
//     as well (its next value is below its last), is a reset and b is taken
//     as it is. Anything else is held: to is offset to read L at b.
//
// Why it cannot invent increases. Within one replica an offset is constant,
// so consecutive samples differ by exactly what that replica recorded. At a
// switch the merged value rises by b minus to's reading at tL (rules 2, 3),
// which is at most what to itself counted between two of its own samples,
// or not at all (rule 4), or by b after a reset, which is what rate()
// counts for a reset of that replica on its own. So a difference in level
// between replicas never reaches rate() as an increase, in either
// direction: not a replica slightly behind because of scrape skew, not one
// that missed the last increments before a restart, and not a lane whose
// counter total contains a false reset where chunks of two replicas meet
// (thanos-io/thanos#7623). Penalty lifts a replica that reads lower, but
// passes on every jump up to a replica that reads higher.
//
// Rule 4 holds rather than trusts b because a gap in to around tL is
// exactly where such a false reset may hide; the price is that the increase
// between tL and b is not counted.
//
// Only floats are adjusted: after a histogram, or to a histogram, the
// offset is 0. Native histograms pass through untouched, hints included: a
// NotCounterReset hint still holds for the replica that wrote it, and
// keeping it stops PromQL from reading a slightly lower replica as a reset.
func (it *gapfillIterator) align(to, from *gapLane) {
	it.off = 0
	if !it.lastFloat || !to.head.float {
		return
	}
	L, b := it.lastV, to.head.v
	lo, hi := to.lo, to.hi
	if (lo.float && hi.float && hi.v < lo.v) || (hi.float && b < hi.v) {
		return
	}
	if iv := to.interval(); lo.float && hi.float && 2*(hi.t-lo.t) <= 3*iv {
		x := lo.v + (hi.v-lo.v)*float64(it.lastT-lo.t)/float64(hi.t-lo.t)
		it.off = L - x
		return
	}
	if hi.float && hi.t < to.head.t {
		it.off = L - hi.v
		return
	}
	fromReset := from.typ == chunkenc.ValFloat && from.head.float && from.head.v < it.lastRaw
	if b < L/2 || fromReset {
		return
	}
	it.off = L - b
}

// Seek walks forward with Next, so that it lands where iteration would have
// and makes the same switching decisions on the way. It never moves back:
// a target at or before the current sample leaves it where it is.
func (it *gapfillIterator) Seek(t timestamp) chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	if it.cur >= 0 && it.lastT >= t {
		return it.typ
	}
	for {
		typ := it.Next()
		if typ == chunkenc.ValNone || it.lastT >= t {
			return typ
		}
	}
}

func (it *gapfillIterator) At() (int64, float64) {
	if it.cur < 0 {
		return math.MinInt64, 0
	}
	t, v := it.lanes[it.cur].it.At()
	return t, v + it.off
}

func (it *gapfillIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if it.cur < 0 {
		return math.MinInt64, nil
	}
	return it.lanes[it.cur].it.AtHistogram(h)
}

func (it *gapfillIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if it.cur < 0 {
		return math.MinInt64, nil
	}
	return it.lanes[it.cur].it.AtFloatHistogram(fh)
}

func (it *gapfillIterator) AtT() int64 {
	if it.cur < 0 {
		return math.MinInt64
	}
	return it.lastT
}

func (it *gapfillIterator) AtST() int64 {
	if it.cur < 0 {
		return 0
	}
	return it.lanes[it.cur].it.AtST()
}

func (it *gapfillIterator) Err() error {
	for i := range it.lanes {
		if err := it.lanes[i].it.Err(); err != nil {
			return err
		}
	}
	return nil
}
