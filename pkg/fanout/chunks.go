package fanout

import (
	"bytes"
	"errors"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// mergeChunks joins the chunks that several stores returned for one label set the way the
// Thanos proxy does, so that what follows sees the same input as the Querier's dedup: byte-equal
// chunks are kept once, and the rest are ordered by min time, max time, encoding, and then data
// (descending, as Thanos's comparison happens to order it).
func mergeChunks(dst []storeapi.Chunk, parts [][]storeapi.Chunk) []storeapi.Chunk {
	dst = dst[:0]
	if len(parts) == 1 {
		return append(dst, parts[0]...)
	}
	seen := make(map[uint64]struct{})
	for _, p := range parts {
		for _, c := range p {
			h := c.Hash
			if h == 0 {
				h = xxhash.Sum64(c.Data)
			}
			if _, ok := seen[h]; ok {
				continue
			}
			seen[h] = struct{}{}
			dst = append(dst, c)
		}
	}
	slices.SortFunc(dst, func(a, b storeapi.Chunk) int {
		switch {
		case a.MinTime != b.MinTime:
			return cmpInt(a.MinTime, b.MinTime)
		case a.MaxTime != b.MaxTime:
			return cmpInt(a.MaxTime, b.MaxTime)
		case a.Encoding != b.Encoding:
			return cmpInt(int64(a.Encoding), int64(b.Encoding))
		}
		return -bytes.Compare(a.Data, b.Data)
	})
	return dst
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// splitOverlapping deals time-sorted chunks into the fewest lists whose chunks do not overlap,
// greedily, first fit. Chunks of one label set that overlap came from different replicas, and
// dedup needs them as separate series.
func splitOverlapping(chunks []storeapi.Chunk) [][]storeapi.Chunk {
	if len(chunks) == 0 {
		return [][]storeapi.Chunk{nil}
	}
	out := [][]storeapi.Chunk{{chunks[0]}}
next:
	for _, c := range chunks[1:] {
		for i, r := range out {
			if r[len(r)-1].MaxTime < c.MinTime {
				out[i] = append(r, c)
				continue next
			}
		}
		out = append(out, []storeapi.Chunk{c})
	}
	return out
}

// chunkSeries is a storage.Series over raw chunks, limited to [mint, maxt].
type chunkSeries struct {
	lset       labels.Labels
	chunks     []storeapi.Chunk
	mint, maxt int64
}

func (s *chunkSeries) Labels() labels.Labels { return s.lset }

func (s *chunkSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if ci, ok := it.(*chunksIterator); ok {
		ci.reset(s)
		return ci
	}
	ci := &chunksIterator{}
	ci.reset(s)
	return ci
}

var errNoChunks = errors.New("store returned a series without chunks")

// chunksIterator walks the chunks in order. When one chunk ends it skips the samples of the next
// that are not after the last one returned, so overlapping chunks yield each timestamp once.
type chunksIterator struct {
	chunks     []storeapi.Chunk
	mint, maxt int64
	i          int
	cur        chunkenc.Iterator
	spare      chunkenc.Iterator
	lastT      int64
	curVT      chunkenc.ValueType
	started    bool
	err        error
}

func (it *chunksIterator) reset(s *chunkSeries) {
	it.chunks, it.mint, it.maxt = s.chunks, s.mint, s.maxt
	it.i, it.started, it.err, it.cur = -1, false, nil, nil
	if len(s.chunks) == 0 {
		it.err = errNoChunks
	}
}

// open moves to chunk i, reusing the previous chunk iterator's memory.
func (it *chunksIterator) open(i int) bool {
	it.i = i
	c, err := it.chunks[i].Decode()
	if err != nil {
		it.err = err
		return false
	}
	it.cur = c.Iterator(it.spare)
	it.spare = it.cur
	return true
}

func (it *chunksIterator) Next() chunkenc.ValueType {
	for it.err == nil {
		if it.cur == nil {
			if it.i+1 >= len(it.chunks) {
				return chunkenc.ValNone
			}
			if !it.open(it.i + 1) {
				return chunkenc.ValNone
			}
		}
		vt := it.cur.Next()
		if vt == chunkenc.ValNone {
			if err := it.cur.Err(); err != nil {
				it.err = err
				return vt
			}
			it.cur = nil
			continue
		}
		t := it.cur.AtT()
		if it.started && t <= it.lastT {
			continue
		}
		if t < it.mint {
			continue
		}
		if t > it.maxt {
			it.i = len(it.chunks)
			it.cur = nil
			return chunkenc.ValNone
		}
		it.started, it.lastT, it.curVT = true, t, vt
		return vt
	}
	return chunkenc.ValNone
}

func (it *chunksIterator) Seek(t int64) chunkenc.ValueType {
	if it.err != nil {
		return chunkenc.ValNone
	}
	if it.started && it.lastT >= t {
		return it.curVT // Seek never moves backwards.
	}
	// Skip whole chunks that end before t without decoding them.
	if it.cur == nil || it.chunks[it.i].MaxTime < t {
		j := it.i + 1
		for j < len(it.chunks) && it.chunks[j].MaxTime < t {
			j++
		}
		if j >= len(it.chunks) {
			it.i, it.cur = len(it.chunks), nil
			return chunkenc.ValNone
		}
		if !it.open(j) {
			return chunkenc.ValNone
		}
	}
	for {
		vt := it.Next()
		if vt == chunkenc.ValNone || it.lastT >= t {
			return vt
		}
	}
}

func (it *chunksIterator) At() (int64, float64) { return it.cur.At() }

func (it *chunksIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}

func (it *chunksIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}

func (it *chunksIterator) AtT() int64 {
	if it.cur == nil {
		return it.lastT
	}
	return it.cur.AtT()
}

// AtST is the start timestamp, which the StoreAPI does not carry.
func (it *chunksIterator) AtST() int64 { return 0 }

func (it *chunksIterator) Err() error { return it.err }

var _ storage.Series = (*chunkSeries)(nil)
