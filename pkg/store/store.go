// Package store is the model every store client speaks, whatever its protocol: the requests the
// fanout makes, the series, chunks and label answers it reads back, and what a store says of
// itself. The Thanos StoreAPI client (package storeapi, gRPC) and the Prometheus remote-read
// client (package remoteread, HTTP) both adapt to it, and neither depends on the other.
package store

import (
	"context"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// ChunkEncoding is the StoreAPI enum thanos.Chunk.Encoding. It is off by one from
// chunkenc.Encoding, which reserves 0 for "none".
type ChunkEncoding int32

const (
	EncodingXOR            ChunkEncoding = 0
	EncodingHistogram      ChunkEncoding = 1
	EncodingFloatHistogram ChunkEncoding = 2
)

func (e ChunkEncoding) String() string {
	switch e {
	case EncodingXOR:
		return "XOR"
	case EncodingHistogram:
		return "HISTOGRAM"
	case EncodingFloatHistogram:
		return "FLOAT_HISTOGRAM"
	}
	return "UNKNOWN"
}

// Chunk is one raw chunk of a series. Clients hand out Data in a buffer of its own that is never
// reused, so holding on to it is safe.
type Chunk struct {
	MinTime, MaxTime int64
	Encoding         ChunkEncoding
	Data             []byte
	Hash             uint64
}

// Decode returns a chunkenc.Chunk over the chunk's bytes. An encoding this client does not know
// is an error rather than a chunk that would decode to garbage.
func (c *Chunk) Decode() (chunkenc.Chunk, error) { return c.DecodeInto(nil) }

// DecodeInto is Decode reusing prev, a chunk no longer read, when it has the same encoding.
func (c *Chunk) DecodeInto(prev chunkenc.Chunk) (chunkenc.Chunk, error) {
	var enc chunkenc.Encoding
	switch c.Encoding {
	case EncodingXOR:
		enc = chunkenc.EncXOR
	case EncodingHistogram:
		enc = chunkenc.EncHistogram
	case EncodingFloatHistogram:
		enc = chunkenc.EncFloatHistogram
	default:
		return nil, &UnknownEncodingError{Encoding: c.Encoding}
	}
	if prev != nil && prev.Encoding() == enc {
		prev.Reset(c.Data)
		return prev, nil
	}
	return chunkenc.FromData(enc, c.Data)
}

// UnknownEncodingError reports a chunk encoding that this client cannot decode.
type UnknownEncodingError struct{ Encoding ChunkEncoding }

func (e *UnknownEncodingError) Error() string {
	return "unsupported chunk encoding " + strconv.Itoa(int(e.Encoding)) +
		" (known: XOR, HISTOGRAM, FLOAT_HISTOGRAM); the store is newer than this client"
}

// Series is one series of a Series response: its labels (external labels included, replica
// labels removed when they were asked to be) and its raw chunks, sorted by time.
type Series struct {
	Labels labels.Labels
	Chunks []Chunk
}

// SeriesRequest carries the subset of thanos.SeriesRequest that this client sets.
type SeriesRequest struct {
	MinTime, MaxTime     int64
	Matchers             []*labels.Matcher
	PartialResponse      bool // false sets partial_response_disabled and strategy ABORT
	SkipChunks           bool
	Step                 int64 // ms
	Range                int64 // ms
	Func                 string
	Grouping             []string
	By                   bool
	WithoutReplicaLabels []string
	Limit                int64
	ResponseBatchSize    int64
}

// LabelsRequest is the common part of LabelNames and LabelValues requests.
type LabelsRequest struct {
	Label                string // LabelValues only
	Start, End           int64
	Matchers             []*labels.Matcher
	PartialResponse      bool
	WithoutReplicaLabels []string
	Limit                int64
}

// Info is what a store says of itself through thanos.info.Info/Info.
type Info struct {
	LabelSets                    []labels.Labels
	ComponentType                string
	IsStore                      bool
	MinTime, MaxTime             int64
	SupportsWithoutReplicaLabels bool
	// The other services the store offers besides the Store API, as its Info lists them.
	Rules, Targets, MetricMetadata, Exemplars bool
}

// LabelsResponse is the answer to LabelNames and LabelValues.
type LabelsResponse struct {
	Values   []string
	Warnings []string
}

// StoreClient is what the fanout asks of a store. A Thanos sidecar answers it over gRPC
// (storeapi.Store); a Prometheus without one answers it through remote read (remoteread.Client).
// Both return series sorted by their final labels, external labels included and the requested
// replica labels removed.
type StoreClient interface {
	Series(ctx context.Context, r *SeriesRequest) (SeriesStream, error)
	LabelNames(ctx context.Context, r *LabelsRequest) (*LabelsResponse, error)
	LabelValues(ctx context.Context, r *LabelsRequest) (*LabelsResponse, error)
}

// SeriesStream is one Series call's answer, read series by series.
type SeriesStream interface {
	Next() bool
	At() *Series
	Err() error
	Warnings() []string
	Close()
	// Frames is how many messages the store sent so far, for the slow-query log.
	Frames() int
}
