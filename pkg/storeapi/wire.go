package storeapi

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Field numbers from Thanos's pkg/store/storepb/rpc.proto, types.proto and
// pkg/info/infopb/rpc.proto.
const (
	// thanos.SeriesRequest
	srMinTime                 = 1
	srMaxTime                 = 2
	srMatchers                = 3
	srPartialResponseDisabled = 6
	srPartialResponseStrategy = 7
	srSkipChunks              = 8
	srStep                    = 10
	srRange                   = 11
	srQueryHints              = 12
	srWithoutReplicaLabels    = 14
	srLimit                   = 15
	srResponseBatchSize       = 16

	// thanos.QueryHints, Func, Grouping, Range
	qhStepMillis = 1
	qhFunc       = 2
	qhGrouping   = 4
	qhRange      = 5
	funcName     = 1
	groupingBy   = 1
	groupingLbls = 3
	rangeMillis  = 1

	// thanos.SeriesResponse (oneof result)
	respSeries  = 1
	respWarning = 2
	respBatch   = 4

	// thanos.Series, SeriesBatch, AggrChunk, Chunk, Label
	seriesLabels = 1
	seriesChunks = 2
	batchSeries  = 1
	acMinTime    = 1
	acMaxTime    = 2
	acRaw        = 3
	chunkType    = 1
	chunkData    = 2
	chunkHash    = 3

	// thanos.LabelNamesRequest / LabelValuesRequest (values are one higher after `label`)
	lnPartialResponseDisabled = 1
	lnPartialResponseStrategy = 2
	lnStart                   = 3
	lnEnd                     = 4
	lnMatchers                = 6
	lnWithoutReplicaLabels    = 7
	lnLimit                   = 8
	lvLabel                   = 1

	// thanos.LabelNamesResponse / LabelValuesResponse
	lrValues   = 1
	lrWarnings = 2

	// thanos.info.InfoResponse, StoreInfo, ZLabelSet
	infoLabelSets     = 1
	infoComponentType = 2
	infoStore         = 3
	// Present, each as a message of its own, when the store serves that API.
	infoRules          = 4
	infoMetricMetadata = 5
	infoTargets        = 6
	infoExemplars      = 7
	siMinTime          = 1
	siMaxTime          = 2
	siWithoutReplica   = 5
	zlsLabels          = 1

	strategyAbort = 1
)

// seriesRequest encodes a store.SeriesRequest as thanos.SeriesRequest.
type seriesRequest struct{ *store.SeriesRequest }

func (s seriesRequest) Marshal() []byte { return marshalSeriesRequest(s.SeriesRequest) }

func marshalSeriesRequest(r *store.SeriesRequest) []byte {
	b := make([]byte, 0, 128)
	b = pbwire.AppendInt(b, srMinTime, r.MinTime)
	b = pbwire.AppendInt(b, srMaxTime, r.MaxTime)
	b = pbwire.AppendMatchers(b, srMatchers, r.Matchers)
	b = pbwire.AppendBool(b, srPartialResponseDisabled, !r.PartialResponse)
	if !r.PartialResponse {
		b = pbwire.AppendInt(b, srPartialResponseStrategy, strategyAbort)
	}
	b = pbwire.AppendBool(b, srSkipChunks, r.SkipChunks)
	b = pbwire.AppendInt(b, srStep, r.Step)
	b = pbwire.AppendInt(b, srRange, r.Range)
	if r.Func != "" || r.Step != 0 || r.Range != 0 || len(r.Grouping) > 0 {
		var h []byte
		h = pbwire.AppendInt(h, qhStepMillis, r.Step)
		if r.Func != "" {
			h = pbwire.AppendBytes(h, qhFunc, pbwire.AppendString(nil, funcName, r.Func))
		}
		if r.By || len(r.Grouping) > 0 {
			g := pbwire.AppendBool(nil, groupingBy, r.By)
			g = pbwire.AppendStrings(g, groupingLbls, r.Grouping)
			h = pbwire.AppendBytes(h, qhGrouping, g)
		}
		if r.Range != 0 {
			h = pbwire.AppendBytes(h, qhRange, pbwire.AppendInt(nil, rangeMillis, r.Range))
		}
		b = pbwire.AppendBytes(b, srQueryHints, h)
	}
	b = pbwire.AppendStrings(b, srWithoutReplicaLabels, r.WithoutReplicaLabels)
	b = pbwire.AppendInt(b, srLimit, r.Limit)
	b = pbwire.AppendInt(b, srResponseBatchSize, r.ResponseBatchSize)
	return b
}

// marshalLabelsRequest encodes thanos.LabelNamesRequest, or thanos.LabelValuesRequest when
// values is set: the latter has `label` as field 1 and every other field one higher.
func marshalLabelsRequest(r *store.LabelsRequest, values bool) []byte {
	var off pbwire.Number
	var b []byte
	if values {
		off = 1
		b = pbwire.AppendString(b, lvLabel, r.Label)
	}
	b = pbwire.AppendBool(b, lnPartialResponseDisabled+off, !r.PartialResponse)
	if !r.PartialResponse {
		b = pbwire.AppendInt(b, lnPartialResponseStrategy+off, strategyAbort)
	}
	b = pbwire.AppendInt(b, lnStart+off, r.Start)
	b = pbwire.AppendInt(b, lnEnd+off, r.End)
	b = pbwire.AppendMatchers(b, lnMatchers+off, r.Matchers)
	b = pbwire.AppendStrings(b, lnWithoutReplicaLabels+off, r.WithoutReplicaLabels)
	b = pbwire.AppendInt(b, lnLimit+off, r.Limit)
	return b
}

func decodeChunk(b []byte, c *store.Chunk) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case chunkType:
			if it.WantVarint() {
				c.Encoding = store.ChunkEncoding(int32(it.U))
			}
		case chunkData:
			if it.WantBytes() {
				c.Data = it.Val
			}
		case chunkHash:
			if it.WantVarint() {
				c.Hash = it.U
			}
		}
	}
	return it.Err
}

func decodeAggrChunk(b []byte) (store.Chunk, bool, error) {
	var c store.Chunk
	raw := false
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case acMinTime:
			if it.WantVarint() {
				c.MinTime = int64(it.U)
			}
		case acMaxTime:
			if it.WantVarint() {
				c.MaxTime = int64(it.U)
			}
		case acRaw:
			if it.WantBytes() {
				raw = true
				if err := decodeChunk(it.Val, &c); err != nil {
					return c, false, fmt.Errorf("raw chunk: %w", err)
				}
			}
		}
	}
	return c, raw, it.Err
}

// decodeSeries decodes thanos.Series. lb is reused across calls to avoid an allocation per
// series for the label scratch space.
func decodeSeries(b []byte, lb *labels.ScratchBuilder) (store.Series, error) {
	var s store.Series
	lb.Reset()
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case seriesLabels:
			if !it.WantBytes() {
				break
			}
			l, err := pbwire.DecodeLabel(it.Val)
			if err != nil {
				return s, fmt.Errorf("label: %w", err)
			}
			lb.Add(l.Name, l.Value)
		case seriesChunks:
			if !it.WantBytes() {
				break
			}
			c, raw, err := decodeAggrChunk(it.Val)
			if err != nil {
				return s, fmt.Errorf("chunk: %w", err)
			}
			if !raw {
				// Downsampled aggregates are never requested (max_resolution_window is 0).
				return s, errors.New("chunk without raw data: the store returned downsampled aggregates only")
			}
			s.Chunks = append(s.Chunks, c)
		}
	}
	if it.Err != nil {
		return s, it.Err
	}
	lb.Sort()
	s.Labels = lb.Labels()
	return s, nil
}

// SeriesResponse is one frame of a Series stream: a series, a batch of them, or a warning.
type SeriesResponse struct {
	Series   []store.Series
	Warnings []string
	lb       labels.ScratchBuilder
}

// compactChunks copies the frame's chunk bytes into one buffer of their own. Decoded chunks
// point into gRPC's receive buffer, which goes back to its pool after decoding; one buffer per
// frame rather than one per chunk also saves an allocation per series, and the engine keeps
// every series of a selector until the query ends.
func (r *SeriesResponse) compactChunks() {
	n := 0
	for i := range r.Series {
		for j := range r.Series[i].Chunks {
			n += len(r.Series[i].Chunks[j].Data)
		}
	}
	if n == 0 {
		return
	}
	buf := make([]byte, 0, n)
	for i := range r.Series {
		for j := range r.Series[i].Chunks {
			c := &r.Series[i].Chunks[j]
			off := len(buf)
			buf = append(buf, c.Data...)
			c.Data = buf[off:len(buf):len(buf)]
		}
	}
}

// Unmarshal decodes thanos.SeriesResponse. Both the single `series` and the `batch` forms are
// accepted; `hints` frames are ignored.
func (r *SeriesResponse) Unmarshal(b []byte) error {
	r.Series = r.Series[:0]
	r.Warnings = r.Warnings[:0]
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case respSeries:
			if !it.WantBytes() {
				break
			}
			s, err := decodeSeries(it.Val, &r.lb)
			if err != nil {
				return fmt.Errorf("series: %w", err)
			}
			r.Series = append(r.Series, s)
		case respWarning:
			if it.WantBytes() {
				r.Warnings = append(r.Warnings, string(it.Val))
			}
		case respBatch:
			if !it.WantBytes() {
				break
			}
			bit := pbwire.Iter{B: it.Val}
			for bit.Next() {
				if bit.Num != batchSeries || !bit.WantBytes() {
					continue
				}
				s, err := decodeSeries(bit.Val, &r.lb)
				if err != nil {
					return fmt.Errorf("batch series: %w", err)
				}
				r.Series = append(r.Series, s)
			}
			if bit.Err != nil {
				return fmt.Errorf("batch: %w", bit.Err)
			}
		}
	}
	if it.Err != nil {
		return it.Err
	}
	r.compactChunks()
	return nil
}

// labelsResponse decodes thanos.LabelNamesResponse or thanos.LabelValuesResponse; both carry
// the strings in field 1 and warnings in field 2.
type labelsResponse struct{ *store.LabelsResponse }

func (r labelsResponse) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case lrValues:
			if it.WantBytes() {
				r.Values = append(r.Values, string(it.Val))
			}
		case lrWarnings:
			if it.WantBytes() {
				r.Warnings = append(r.Warnings, string(it.Val))
			}
		}
	}
	return it.Err
}

// infoResponse decodes thanos.info.InfoResponse.
type infoResponse struct{ *store.Info }

func (inf infoResponse) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case infoLabelSets:
			if !it.WantBytes() {
				break
			}
			ls := labelSet(&it)
			if it.Err != nil {
				return fmt.Errorf("label set: %w", it.Err)
			}
			inf.LabelSets = append(inf.LabelSets, ls)
		case infoComponentType:
			if it.WantBytes() {
				inf.ComponentType = string(it.Val)
			}
		case infoRules, infoMetricMetadata, infoTargets, infoExemplars:
			if it.WantBytes() {
				switch it.Num {
				case infoRules:
					inf.Rules = true
				case infoMetricMetadata:
					inf.MetricMetadata = true
				case infoTargets:
					inf.Targets = true
				default:
					inf.Exemplars = true
				}
			}
		case infoStore:
			if !it.WantBytes() {
				break
			}
			inf.IsStore = true
			sit := pbwire.Iter{B: it.Val}
			for sit.Next() {
				switch sit.Num {
				case siMinTime:
					if sit.WantVarint() {
						inf.MinTime = int64(sit.U)
					}
				case siMaxTime:
					if sit.WantVarint() {
						inf.MaxTime = int64(sit.U)
					}
				case siWithoutReplica:
					if sit.WantVarint() {
						inf.SupportsWithoutReplicaLabels = sit.U != 0
					}
				}
			}
			if sit.Err != nil {
				return fmt.Errorf("store info: %w", sit.Err)
			}
		}
	}
	return it.Err
}
