package remoteread

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Field numbers of prometheus/prompb remote.proto and types.proto. Encoded and decoded by hand,
// like the StoreAPI client, to keep gogoproto's generated types out of the dependency graph.
const (
	// prometheus.ReadRequest, Query (LabelMatcher and Label are pbwire's)
	rrQueries        = 1
	rrAcceptedTypes  = 2
	qStart           = 1
	qEnd             = 2
	qMatchers        = 3
	streamedXORChunk = 1 // ReadRequest.ResponseType STREAMED_XOR_CHUNKS

	// prometheus.ChunkedReadResponse, ChunkedSeries, Label, Chunk
	crSeries     = 1
	csLabels     = 1
	csChunks     = 2
	labelName    = 1 // read by pbwire.DecodeLabel
	labelValue   = 2
	chunkMinTime = 1
	chunkMaxTime = 2
	chunkType    = 3
	chunkData    = 4
)

// marshalReadRequest encodes one query asking for streamed chunks only: a Prometheus too old to
// stream (before 2.13) answers with sampled data, which the client refuses rather than read a
// whole response into memory.
func marshalReadRequest(mint, maxt int64, ms []*labels.Matcher) []byte {
	var q []byte
	q = pbwire.AppendInt(q, qStart, mint)
	q = pbwire.AppendInt(q, qEnd, maxt)
	q = pbwire.AppendMatchers(q, qMatchers, ms)
	var b []byte
	b = pbwire.AppendBytes(b, rrQueries, q)
	b = pbwire.AppendPackedVarints(b, rrAcceptedTypes, streamedXORChunk)
	return b
}

// rawSeries is one ChunkedSeries as Prometheus sent it: labels sorted, external labels already
// merged in by the remote-read handler.
type rawSeries struct {
	labels labels.Labels
	chunks []store.Chunk
}

// decodeChunkedReadResponse decodes one frame. Prometheus sends one series per frame, and a
// series with more chunks than fit in a frame over several consecutive frames.
func decodeChunkedReadResponse(b []byte, lb *labels.ScratchBuilder) ([]rawSeries, error) {
	var out []rawSeries
	it := pbwire.Iter{B: b}
	for it.Next() {
		if it.Num != crSeries || !it.WantBytes() {
			continue
		}
		s, err := decodeChunkedSeries(it.Val, lb)
		if err != nil {
			return out, fmt.Errorf("series: %w", err)
		}
		out = append(out, s)
	}
	return out, it.Err
}

func decodeChunkedSeries(b []byte, lb *labels.ScratchBuilder) (rawSeries, error) {
	var s rawSeries
	lb.Reset()
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case csLabels:
			if !it.WantBytes() {
				break
			}
			l, err := pbwire.DecodeLabel(it.Val)
			if err != nil {
				return s, fmt.Errorf("label: %w", err)
			}
			lb.Add(l.Name, l.Value)
		case csChunks:
			if !it.WantBytes() {
				break
			}
			c, err := decodeChunk(it.Val)
			if err != nil {
				return s, fmt.Errorf("chunk: %w", err)
			}
			s.chunks = append(s.chunks, c)
		}
	}
	if it.Err != nil {
		return s, it.Err
	}
	lb.Sort()
	s.labels = lb.Labels()
	return s, nil
}

func decodeChunk(b []byte) (store.Chunk, error) {
	var (
		c   store.Chunk
		enc uint64
	)
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case chunkMinTime:
			if it.WantVarint() {
				c.MinTime = int64(it.U)
			}
		case chunkMaxTime:
			if it.WantVarint() {
				c.MaxTime = int64(it.U)
			}
		case chunkType:
			if it.WantVarint() {
				enc = it.U
			}
		case chunkData:
			if it.WantBytes() {
				c.Data = it.Val
			}
		}
	}
	if it.Err != nil {
		return c, it.Err
	}
	// prompb counts encodings from UNKNOWN = 0, the StoreAPI from XOR = 0, as the sidecar
	// compensates too. An encoding outside both is kept as is and refused when decoded.
	if enc == 0 || enc > 1<<20 {
		return c, fmt.Errorf("chunk encoding %d is not a chunk encoding", enc)
	}
	c.Encoding = store.ChunkEncoding(enc - 1)
	return c, nil
}
