package storeapi

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
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

	// thanos.LabelMatcher
	lmType  = 1
	lmName  = 2
	lmValue = 3

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
	labelName    = 1
	labelValue   = 2

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
	siMinTime         = 1
	siMaxTime         = 2
	siWithoutReplica  = 5
	zlsLabels         = 1

	strategyAbort = 1
)

var errTruncated = errors.New("truncated or malformed protobuf message")

func appendMatchers(b []byte, field protowire.Number, ms []*labels.Matcher) []byte {
	for _, m := range ms {
		var mb []byte
		if t := matcherType(m.Type); t != 0 {
			mb = protowire.AppendTag(mb, lmType, protowire.VarintType)
			mb = protowire.AppendVarint(mb, uint64(t))
		}
		mb = appendString(mb, lmName, m.Name)
		mb = appendString(mb, lmValue, m.Value)
		b = protowire.AppendTag(b, field, protowire.BytesType)
		b = protowire.AppendBytes(b, mb)
	}
	return b
}

func matcherType(t labels.MatchType) MatcherType {
	switch t {
	case labels.MatchNotEqual:
		return MatchNEQ
	case labels.MatchRegexp:
		return MatchRE
	case labels.MatchNotRegexp:
		return MatchNRE
	}
	return MatchEQ
}

func appendString(b []byte, f protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendInt(b []byte, f protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendBool(b []byte, f protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.VarintType)
	return protowire.AppendVarint(b, 1)
}

func appendMessage(b []byte, f protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// Marshal encodes the request as thanos.SeriesRequest.
func (r *SeriesRequest) Marshal() []byte {
	b := make([]byte, 0, 128)
	b = appendInt(b, srMinTime, r.MinTime)
	b = appendInt(b, srMaxTime, r.MaxTime)
	b = appendMatchers(b, srMatchers, r.Matchers)
	b = appendBool(b, srPartialResponseDisabled, !r.PartialResponse)
	if !r.PartialResponse {
		b = appendInt(b, srPartialResponseStrategy, strategyAbort)
	}
	b = appendBool(b, srSkipChunks, r.SkipChunks)
	b = appendInt(b, srStep, r.Step)
	b = appendInt(b, srRange, r.Range)
	if r.Func != "" || r.Step != 0 || r.Range != 0 || len(r.Grouping) > 0 {
		var h []byte
		h = appendInt(h, qhStepMillis, r.Step)
		if r.Func != "" {
			h = appendMessage(h, qhFunc, appendString(nil, funcName, r.Func))
		}
		if r.By || len(r.Grouping) > 0 {
			g := appendBool(nil, groupingBy, r.By)
			for _, l := range r.Grouping {
				g = protowire.AppendTag(g, groupingLbls, protowire.BytesType)
				g = protowire.AppendString(g, l)
			}
			h = appendMessage(h, qhGrouping, g)
		}
		if r.Range != 0 {
			h = appendMessage(h, qhRange, appendInt(nil, rangeMillis, r.Range))
		}
		b = appendMessage(b, srQueryHints, h)
	}
	for _, l := range r.WithoutReplicaLabels {
		b = protowire.AppendTag(b, srWithoutReplicaLabels, protowire.BytesType)
		b = protowire.AppendString(b, l)
	}
	b = appendInt(b, srLimit, r.Limit)
	b = appendInt(b, srResponseBatchSize, r.ResponseBatchSize)
	return b
}

// marshal encodes thanos.LabelNamesRequest, or thanos.LabelValuesRequest when values is set:
// the latter has `label` as field 1 and every other field one higher.
func (r *LabelsRequest) marshal(values bool) []byte {
	var off protowire.Number
	var b []byte
	if values {
		off = 1
		b = appendString(b, lvLabel, r.Label)
	}
	b = appendBool(b, lnPartialResponseDisabled+off, !r.PartialResponse)
	if !r.PartialResponse {
		b = appendInt(b, lnPartialResponseStrategy+off, strategyAbort)
	}
	b = appendInt(b, lnStart+off, r.Start)
	b = appendInt(b, lnEnd+off, r.End)
	b = appendMatchers(b, lnMatchers+off, r.Matchers)
	for _, l := range r.WithoutReplicaLabels {
		b = protowire.AppendTag(b, lnWithoutReplicaLabels+off, protowire.BytesType)
		b = protowire.AppendString(b, l)
	}
	b = appendInt(b, lnLimit+off, r.Limit)
	return b
}

// fieldIter walks the fields of one message.
type fieldIter struct {
	b   []byte
	num protowire.Number
	typ protowire.Type
	val []byte // BytesType payload
	u   uint64 // VarintType / fixed payload
	err error
}

func (it *fieldIter) next() bool {
	if len(it.b) == 0 || it.err != nil {
		return false
	}
	num, typ, n := protowire.ConsumeTag(it.b)
	if n < 0 {
		it.err = errTruncated
		return false
	}
	it.b = it.b[n:]
	it.num, it.typ = num, typ
	switch typ {
	case protowire.VarintType:
		it.u, n = protowire.ConsumeVarint(it.b)
	case protowire.BytesType:
		it.val, n = protowire.ConsumeBytes(it.b)
	case protowire.Fixed64Type:
		it.u, n = protowire.ConsumeFixed64(it.b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(it.b)
		it.u = uint64(v)
	default:
		n = protowire.ConsumeFieldValue(num, typ, it.b)
	}
	if n < 0 {
		it.err = fmt.Errorf("field %d: %w", num, errTruncated)
		return false
	}
	it.b = it.b[n:]
	return true
}

// wantBytes reports a wire-type mismatch for a field we expect to be length-delimited.
func (it *fieldIter) wantBytes() bool {
	if it.typ != protowire.BytesType {
		it.err = fmt.Errorf("field %d: wire type %d, want length-delimited", it.num, it.typ)
		return false
	}
	return true
}

func (it *fieldIter) wantVarint() bool {
	if it.typ != protowire.VarintType {
		it.err = fmt.Errorf("field %d: wire type %d, want varint", it.num, it.typ)
		return false
	}
	return true
}

// str turns received bytes into a string without copying. The bytes are gRPC's and go back to
// its pool once the message is decoded: such a string may only be read during decoding, and
// whatever is kept must be copied (ScratchBuilder.Labels does for label sets).
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// decodeLabel reads one thanos.Label message. Name and value alias b, so they live as
// long as the frame b was cut from.
func decodeLabel(b []byte) (labels.Label, error) {
	var l labels.Label
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case labelName:
			if it.wantBytes() {
				l.Name = str(it.val)
			}
		case labelValue:
			if it.wantBytes() {
				l.Value = str(it.val)
			}
		}
	}
	return l, it.err
}

func decodeChunk(b []byte, c *Chunk) error {
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case chunkType:
			if it.wantVarint() {
				c.Encoding = ChunkEncoding(int32(it.u))
			}
		case chunkData:
			if it.wantBytes() {
				c.Data = it.val
			}
		case chunkHash:
			if it.wantVarint() {
				c.Hash = it.u
			}
		}
	}
	return it.err
}

func decodeAggrChunk(b []byte) (Chunk, bool, error) {
	var c Chunk
	raw := false
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case acMinTime:
			if it.wantVarint() {
				c.MinTime = int64(it.u)
			}
		case acMaxTime:
			if it.wantVarint() {
				c.MaxTime = int64(it.u)
			}
		case acRaw:
			if it.wantBytes() {
				raw = true
				if err := decodeChunk(it.val, &c); err != nil {
					return c, false, fmt.Errorf("raw chunk: %w", err)
				}
			}
		}
	}
	return c, raw, it.err
}

// decodeSeries decodes thanos.Series. lb is reused across calls to avoid an allocation per
// series for the label scratch space.
func decodeSeries(b []byte, lb *labels.ScratchBuilder) (Series, error) {
	var s Series
	lb.Reset()
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case seriesLabels:
			if !it.wantBytes() {
				break
			}
			l, err := decodeLabel(it.val)
			if err != nil {
				return s, fmt.Errorf("label: %w", err)
			}
			lb.Add(l.Name, l.Value)
		case seriesChunks:
			if !it.wantBytes() {
				break
			}
			c, raw, err := decodeAggrChunk(it.val)
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
	if it.err != nil {
		return s, it.err
	}
	lb.Sort()
	s.Labels = lb.Labels()
	return s, nil
}

// SeriesResponse is one frame of a Series stream: a series, a batch of them, or a warning.
type SeriesResponse struct {
	Series   []Series
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
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case respSeries:
			if !it.wantBytes() {
				break
			}
			s, err := decodeSeries(it.val, &r.lb)
			if err != nil {
				return fmt.Errorf("series: %w", err)
			}
			r.Series = append(r.Series, s)
		case respWarning:
			if it.wantBytes() {
				r.Warnings = append(r.Warnings, string(it.val))
			}
		case respBatch:
			if !it.wantBytes() {
				break
			}
			bit := fieldIter{b: it.val}
			for bit.next() {
				if bit.num != batchSeries || !bit.wantBytes() {
					continue
				}
				s, err := decodeSeries(bit.val, &r.lb)
				if err != nil {
					return fmt.Errorf("batch series: %w", err)
				}
				r.Series = append(r.Series, s)
			}
			if bit.err != nil {
				return fmt.Errorf("batch: %w", bit.err)
			}
		}
	}
	if it.err != nil {
		return it.err
	}
	r.compactChunks()
	return nil
}

// LabelsResponse is thanos.LabelNamesResponse or thanos.LabelValuesResponse; both carry the
// strings in field 1 and warnings in field 2.
type LabelsResponse struct {
	Values   []string
	Warnings []string
}

func (r *LabelsResponse) Unmarshal(b []byte) error {
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case lrValues:
			if it.wantBytes() {
				r.Values = append(r.Values, string(it.val))
			}
		case lrWarnings:
			if it.wantBytes() {
				r.Warnings = append(r.Warnings, string(it.val))
			}
		}
	}
	return it.err
}

// Unmarshal decodes thanos.info.InfoResponse.
func (inf *Info) Unmarshal(b []byte) error {
	it := fieldIter{b: b}
	for it.next() {
		switch it.num {
		case infoLabelSets:
			if !it.wantBytes() {
				break
			}
			var lb labels.ScratchBuilder
			zit := fieldIter{b: it.val}
			for zit.next() {
				if zit.num != zlsLabels || !zit.wantBytes() {
					continue
				}
				l, err := decodeLabel(zit.val)
				if err != nil {
					return fmt.Errorf("label set: %w", err)
				}
				lb.Add(string([]byte(l.Name)), string([]byte(l.Value)))
			}
			if zit.err != nil {
				return fmt.Errorf("label set: %w", zit.err)
			}
			lb.Sort()
			inf.LabelSets = append(inf.LabelSets, lb.Labels())
		case infoComponentType:
			if it.wantBytes() {
				inf.ComponentType = string(it.val)
			}
		case infoStore:
			if !it.wantBytes() {
				break
			}
			inf.IsStore = true
			sit := fieldIter{b: it.val}
			for sit.next() {
				switch sit.num {
				case siMinTime:
					if sit.wantVarint() {
						inf.MinTime = int64(sit.u)
					}
				case siMaxTime:
					if sit.wantVarint() {
						inf.MaxTime = int64(sit.u)
					}
				case siWithoutReplica:
					if sit.wantVarint() {
						inf.SupportsWithoutReplicaLabels = sit.u != 0
					}
				}
			}
			if sit.err != nil {
				return fmt.Errorf("store info: %w", sit.err)
			}
		}
	}
	return it.err
}
