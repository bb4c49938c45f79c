package remoteread

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
)

// Field numbers of prometheus/prompb remote.proto and types.proto. Encoded and decoded by hand,
// like the StoreAPI client, to keep gogoproto's generated types out of the dependency graph.
const (
	// prometheus.ReadRequest, Query, LabelMatcher
	rrQueries        = 1
	rrAcceptedTypes  = 2
	qStart           = 1
	qEnd             = 2
	qMatchers        = 3
	lmType           = 1
	lmName           = 2
	lmValue          = 3
	streamedXORChunk = 1 // ReadRequest.ResponseType STREAMED_XOR_CHUNKS

	// prometheus.ChunkedReadResponse, ChunkedSeries, Label, Chunk
	crSeries     = 1
	csLabels     = 1
	csChunks     = 2
	labelName    = 1
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
	q = protowire.AppendTag(q, qStart, protowire.VarintType)
	q = protowire.AppendVarint(q, uint64(mint))
	q = protowire.AppendTag(q, qEnd, protowire.VarintType)
	q = protowire.AppendVarint(q, uint64(maxt))
	for _, m := range ms {
		var mb []byte
		// prompb's matcher types have the same numbers as labels.MatchType.
		mb = protowire.AppendTag(mb, lmType, protowire.VarintType)
		mb = protowire.AppendVarint(mb, uint64(m.Type))
		mb = protowire.AppendTag(mb, lmName, protowire.BytesType)
		mb = protowire.AppendString(mb, m.Name)
		mb = protowire.AppendTag(mb, lmValue, protowire.BytesType)
		mb = protowire.AppendString(mb, m.Value)
		q = protowire.AppendTag(q, qMatchers, protowire.BytesType)
		q = protowire.AppendBytes(q, mb)
	}
	var b []byte
	b = protowire.AppendTag(b, rrQueries, protowire.BytesType)
	b = protowire.AppendBytes(b, q)
	b = protowire.AppendTag(b, rrAcceptedTypes, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendVarint(nil, streamedXORChunk))
	return b
}

var errMalformed = errors.New("truncated or malformed protobuf message")

// fields walks the fields of one message, calling fn for each. Values of unknown fields are
// skipped; a field fn wants with the wrong wire type is an error, not a silently empty value.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, val []byte, u uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		var (
			val []byte
			u   uint64
		)
		switch typ {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, errMalformed)
		}
		b = b[n:]
		if err := fn(num, typ, val, u); err != nil {
			return err
		}
	}
	return nil
}

func want(num protowire.Number, got, want protowire.Type) error {
	if got != want {
		return fmt.Errorf("field %d: wire type %d, want %d", num, got, want)
	}
	return nil
}

// str aliases the frame's bytes: every frame has a buffer of its own that is never written again.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// rawSeries is one ChunkedSeries as Prometheus sent it: labels sorted, external labels already
// merged in by the remote-read handler.
type rawSeries struct {
	labels labels.Labels
	chunks []storeapi.Chunk
}

// decodeChunkedReadResponse decodes one frame. Prometheus sends one series per frame, and a
// series with more chunks than fit in a frame over several consecutive frames.
func decodeChunkedReadResponse(b []byte, lb *labels.ScratchBuilder) ([]rawSeries, error) {
	var out []rawSeries
	err := fields(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if num != crSeries {
			return nil
		}
		if err := want(num, typ, protowire.BytesType); err != nil {
			return err
		}
		s, err := decodeChunkedSeries(val, lb)
		if err != nil {
			return fmt.Errorf("series: %w", err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func decodeChunkedSeries(b []byte, lb *labels.ScratchBuilder) (rawSeries, error) {
	var s rawSeries
	lb.Reset()
	err := fields(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		switch num {
		case csLabels:
			if err := want(num, typ, protowire.BytesType); err != nil {
				return err
			}
			var l labels.Label
			if err := fields(val, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
				if num != labelName && num != labelValue {
					return nil
				}
				if err := want(num, typ, protowire.BytesType); err != nil {
					return err
				}
				if num == labelName {
					l.Name = str(val)
				} else {
					l.Value = str(val)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("label: %w", err)
			}
			lb.Add(l.Name, l.Value)
		case csChunks:
			if err := want(num, typ, protowire.BytesType); err != nil {
				return err
			}
			c, err := decodeChunk(val)
			if err != nil {
				return fmt.Errorf("chunk: %w", err)
			}
			s.chunks = append(s.chunks, c)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	lb.Sort()
	s.labels = lb.Labels()
	return s, nil
}

func decodeChunk(b []byte) (storeapi.Chunk, error) {
	var (
		c   storeapi.Chunk
		enc uint64
	)
	err := fields(b, func(num protowire.Number, typ protowire.Type, val []byte, u uint64) error {
		switch num {
		case chunkMinTime, chunkMaxTime, chunkType:
			if err := want(num, typ, protowire.VarintType); err != nil {
				return err
			}
			switch num {
			case chunkMinTime:
				c.MinTime = int64(u)
			case chunkMaxTime:
				c.MaxTime = int64(u)
			default:
				enc = u
			}
		case chunkData:
			if err := want(num, typ, protowire.BytesType); err != nil {
				return err
			}
			c.Data = val
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	// prompb counts encodings from UNKNOWN = 0, the StoreAPI from XOR = 0, as the sidecar
	// compensates too. An encoding outside both is kept as is and refused when decoded.
	if enc == 0 || enc > 1<<20 {
		return c, fmt.Errorf("chunk encoding %d is not a chunk encoding", enc)
	}
	c.Encoding = storeapi.ChunkEncoding(enc - 1)
	return c, nil
}
