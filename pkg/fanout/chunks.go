package fanout

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// mergeChunks joins the chunks that several stores returned for one label set the way the
// Thanos proxy does, so that what follows sees the same input as the Querier's dedup: byte-equal
// chunks are kept once, and the rest are ordered by min time, max time, encoding, and then data
// (descending, as Thanos's comparison happens to order it).
//
// A single part is returned as it is, not copied: callers only read the result.
func mergeChunks(parts [][]store.Chunk) []store.Chunk {
	if len(parts) == 1 {
		return parts[0]
	}
	var dst []store.Chunk
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
	slices.SortFunc(dst, proxyOrder)
	return dst
}

// proxyOrder is the Thanos proxy's chunk order.
func proxyOrder(a, b store.Chunk) int {
	switch {
	case a.MinTime != b.MinTime:
		return cmpInt(a.MinTime, b.MinTime)
	case a.MaxTime != b.MaxTime:
		return cmpInt(a.MaxTime, b.MaxTime)
	case a.Encoding != b.Encoding:
		return cmpInt(int64(a.Encoding), int64(b.Encoding))
	}
	return -bytes.Compare(a.Data, b.Data)
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

// chunkSeries is a storage.Series over one lane of raw chunks, read as the Querier reads it. The
// engine keeps every series of a selector until the query ends, so it is kept small: what all
// series of one Select share sits behind one pointer.
type chunkSeries struct {
	lset   labels.Labels
	chunks []store.Chunk
	sel    *selectParams
}

// selectParams are the parts of a Select that decide how its series are read.
type selectParams struct {
	fn         string
	mint, maxt int64
}

func (s *chunkSeries) Labels() labels.Labels { return s.lset }

// Iterator reuses prev when it is one of ours: the engine hands back the iterator of the series
// it read before, and allocating chunk iterators anew for each of hundreds of thousands of series
// would be most of what an evaluation allocates.
func (s *chunkSeries) Iterator(prev chunkenc.Iterator) chunkenc.Iterator {
	if len(s.chunks) == 0 {
		return chunkenc.NewNopIterator()
	}
	it, ok := prev.(*laneIterator)
	if !ok {
		it = &laneIterator{}
	}
	for len(it.decoded) < len(s.chunks) {
		it.decoded = append(it.decoded, nil)
		it.its = append(it.its, nil)
	}
	for i := range s.chunks {
		c, err := s.chunks[i].DecodeInto(it.decoded[i])
		if err != nil {
			return dedup.ErrIterator(fmt.Errorf("series %s: %w", s.lset, err))
		}
		it.decoded[i] = c
		it.its[i] = c.Iterator(it.its[i])
	}
	if r := it.Lane.Reset(it.its[:len(s.chunks)], s.sel.fn, s.sel.mint, s.sel.maxt); r != &it.Lane {
		return r
	}
	return it
}

// laneIterator is what chunkSeries.Iterator returns: a lane over chunks decoded into objects that
// the next series can reuse.
type laneIterator struct {
	dedup.Lane
	decoded []chunkenc.Chunk
	its     []chunkenc.Iterator
}

func chunkSpan(c store.Chunk) (int64, int64) { return c.MinTime, c.MaxTime }

var _ storage.Series = (*chunkSeries)(nil)
