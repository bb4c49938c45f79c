package storeapi

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// The tests encode frames field by field from the published field numbers, independently of
// the decoder's constants, so a wrong constant shows up as a failure.

func label(name, value string) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendString(b, value)
}

func xorChunk(t *testing.T, ts ...int64) []byte {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		app.Append(0, x, float64(x)/10)
	}
	return c.Bytes()
}

func aggrChunk(minT, maxT int64, enc int, data []byte) []byte {
	var raw []byte
	if enc != 0 {
		raw = protowire.AppendTag(raw, 1, protowire.VarintType)
		raw = protowire.AppendVarint(raw, uint64(enc))
	}
	raw = protowire.AppendTag(raw, 2, protowire.BytesType)
	raw = protowire.AppendBytes(raw, data)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(minT))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(maxT))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func series(lbls [][2]string, chunks ...[]byte) []byte {
	var b []byte
	for _, l := range lbls {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, label(l[0], l[1]))
	}
	for _, c := range chunks {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, c)
	}
	return b
}

func TestSeriesResponseSingleAndBatch(t *testing.T) {
	s1 := series([][2]string{{"job", "api"}, {"__name__", "up"}}, aggrChunk(1000, 3000, 0, xorChunk(t, 1000, 2000, 3000)))
	s2 := series([][2]string{{"__name__", "up"}, {"job", "db"}}, aggrChunk(1000, 1000, 0, xorChunk(t, 1000)))

	var single []byte
	single = protowire.AppendTag(single, 1, protowire.BytesType)
	single = protowire.AppendBytes(single, s1)
	var r SeriesResponse
	if err := r.Unmarshal(single); err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 1 || r.Series[0].Labels.String() != `{__name__="up", job="api"}` {
		t.Fatalf("single frame: got %v", r.Series)
	}
	c, err := r.Series[0].Chunks[0].Decode()
	if err != nil || c.NumSamples() != 3 {
		t.Fatalf("chunk: %v samples, err %v", c.NumSamples(), err)
	}

	var batch, inner []byte
	for _, s := range [][]byte{s1, s2} {
		inner = protowire.AppendTag(inner, 1, protowire.BytesType)
		inner = protowire.AppendBytes(inner, s)
	}
	batch = protowire.AppendTag(batch, 4, protowire.BytesType)
	batch = protowire.AppendBytes(batch, inner)
	if err := r.Unmarshal(batch); err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 2 || r.Series[1].Labels.Get("job") != "db" {
		t.Fatalf("batch frame: got %v", r.Series)
	}

	var warn []byte
	warn = protowire.AppendTag(warn, 2, protowire.BytesType)
	warn = protowire.AppendString(warn, "store is slow")
	if err := r.Unmarshal(warn); err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 0 || len(r.Warnings) != 1 || r.Warnings[0] != "store is slow" {
		t.Fatalf("warning frame: got %+v", r)
	}
}

func TestUnknownChunkEncodingIsAnError(t *testing.T) {
	c := store.Chunk{Encoding: 7, Data: []byte{0, 1}}
	_, err := c.Decode()
	var ue *store.UnknownEncodingError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unsupported chunk encoding 7") {
		t.Fatalf("got %v", err)
	}
}

func TestTruncatedFramesAreErrors(t *testing.T) {
	s := series([][2]string{{"__name__", "up"}}, aggrChunk(1, 2, 0, []byte{0, 0}))
	var frame []byte
	frame = protowire.AppendTag(frame, 1, protowire.BytesType)
	frame = protowire.AppendBytes(frame, s)
	for cut := 1; cut < len(frame); cut++ {
		var r SeriesResponse
		if err := r.Unmarshal(frame[:cut]); err == nil {
			t.Fatalf("cut at %d of %d: no error", cut, len(frame))
		}
	}
}

func TestWrongWireTypeIsAnError(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType) // series must be a message
	b = protowire.AppendVarint(b, 5)
	var r SeriesResponse
	if err := r.Unmarshal(b); err == nil {
		t.Fatal("no error for a varint where a message belongs")
	}
}

// decodeFields flattens a message into field number -> raw values, for checking encoders.
func decodeFields(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad tag")
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			v, n = protowire.AppendVarint(nil, x), m
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
		b = b[n:]
		out[num] = append(out[num], v)
	}
	return out
}

func varint(t *testing.T, b []byte) uint64 {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		t.Fatal("bad varint")
	}
	return v
}

func TestSeriesRequestMarshal(t *testing.T) {
	r := &store.SeriesRequest{
		MinTime: 1000, MaxTime: 2000,
		Matchers: []*labels.Matcher{
			labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"),
			labels.MustNewMatcher(labels.MatchNotRegexp, "job", "a.*"),
		},
		Step: 30000, Range: 300000, Func: "rate", By: true, Grouping: []string{"cluster"},
		WithoutReplicaLabels: []string{"replica", "prometheus_replica"},
		ResponseBatchSize:    64,
	}
	f := decodeFields(t, marshalSeriesRequest(r))
	if varint(t, f[1][0]) != 1000 || varint(t, f[2][0]) != 2000 {
		t.Fatal("min/max time")
	}
	if len(f[3]) != 2 {
		t.Fatalf("matchers: %d", len(f[3]))
	}
	m2 := decodeFields(t, f[3][1])
	if varint(t, m2[1][0]) != 3 || string(m2[2][0]) != "job" || string(m2[3][0]) != "a.*" {
		t.Fatalf("matcher 2: %v", m2)
	}
	if varint(t, f[6][0]) != 1 || varint(t, f[7][0]) != 1 {
		t.Fatal("partial response must be disabled with strategy ABORT by default")
	}
	if string(f[14][0]) != "replica" || string(f[14][1]) != "prometheus_replica" {
		t.Fatal("without_replica_labels")
	}
	if varint(t, f[16][0]) != 64 {
		t.Fatal("response_batch_size")
	}
	hints := decodeFields(t, f[12][0])
	if varint(t, hints[1][0]) != 30000 || string(decodeFields(t, hints[2][0])[1][0]) != "rate" {
		t.Fatalf("query hints: %v", hints)
	}
	g := decodeFields(t, hints[4][0])
	if varint(t, g[1][0]) != 1 || string(g[3][0]) != "cluster" {
		t.Fatalf("grouping: %v", g)
	}
}

func TestLabelValuesRequestShiftsFields(t *testing.T) {
	r := &store.LabelsRequest{Label: "job", Start: 5, End: 9, PartialResponse: true}
	f := decodeFields(t, marshalLabelsRequest(r, true))
	if string(f[1][0]) != "job" || varint(t, f[4][0]) != 5 || varint(t, f[5][0]) != 9 {
		t.Fatalf("label values request: %v", f)
	}
	if _, ok := f[2]; ok {
		t.Fatal("partial_response_disabled must be unset with partial responses allowed")
	}
	f = decodeFields(t, marshalLabelsRequest(r, false))
	if varint(t, f[3][0]) != 5 || varint(t, f[4][0]) != 9 {
		t.Fatalf("label names request: %v", f)
	}
}

func TestInfoUnmarshal(t *testing.T) {
	var ls []byte
	ls = protowire.AppendTag(ls, 1, protowire.BytesType)
	ls = protowire.AppendBytes(ls, label("replica", "a"))
	ls = protowire.AppendTag(ls, 1, protowire.BytesType)
	ls = protowire.AppendBytes(ls, label("cluster", "eu"))
	var st []byte
	st = protowire.AppendTag(st, 1, protowire.VarintType)
	st = protowire.AppendVarint(st, 100)
	st = protowire.AppendTag(st, 2, protowire.VarintType)
	st = protowire.AppendVarint(st, 1<<63-1)
	st = protowire.AppendTag(st, 5, protowire.VarintType)
	st = protowire.AppendVarint(st, 1)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, ls)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "sidecar")
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, st)
	var inf store.Info
	if err := (infoResponse{&inf}).Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if len(inf.LabelSets) != 1 || inf.LabelSets[0].String() != `{cluster="eu", replica="a"}` {
		t.Fatalf("label sets: %v", inf.LabelSets)
	}
	if !inf.IsStore || inf.MinTime != 100 || inf.MaxTime != 1<<63-1 || !inf.SupportsWithoutReplicaLabels || inf.ComponentType != "sidecar" {
		t.Fatalf("info: %+v", inf)
	}
}

func TestExplainPlaintextAgainstTLS(t *testing.T) {
	for _, msg := range []string{
		"connection error: desc = \"error reading server preface: EOF\"",
		"connection error: desc = \"error reading server preface: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer\"",
		"connection closed before server preface received",
	} {
		got := Explain(status.Error(codes.Unavailable, msg))
		if !strings.Contains(got, "TLS") || strings.Contains(got, "rpc error") {
			t.Errorf("%q: %q", msg, got)
		}
	}
}

// The words kube-apiserver and kubelets use when the pod has nothing on the forwarded port.
func TestExplainNothingListensInPod(t *testing.T) {
	err := status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: port-forward to europe/p-0 port 10901: error forwarding port 10901 to pod p-0/europe, uid : failed to dial 127.0.0.1:34495: dial tcp 127.0.0.1:34495: connect: connection refused"`)
	got := Explain(err)
	for _, w := range []string{"nothing listens on port 10901 in the pod", "sidecar is down"} {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
	if strings.Contains(got, "TLS") {
		t.Errorf("%q blames TLS", got)
	}
}

// gRPC hands the codec pooled buffers and reuses them once Unmarshal returns: nothing decoded may
// point into them. The message arrives split over two buffers, as a stream's frames do, and both
// are overwritten after decoding.
func TestDecodedSeriesOutliveReceiveBuffers(t *testing.T) {
	var msg, inner []byte
	for _, job := range []string{"api", "db"} {
		inner = protowire.AppendTag(inner, 1, protowire.BytesType)
		inner = protowire.AppendBytes(inner, series([][2]string{{"__name__", "up"}, {"job", job}},
			aggrChunk(1000, 3000, 0, xorChunk(t, 1000, 2000, 3000))))
	}
	msg = protowire.AppendTag(msg, 4, protowire.BytesType)
	msg = protowire.AppendBytes(msg, inner)
	var warn []byte
	warn = protowire.AppendTag(warn, 2, protowire.BytesType)
	warn = protowire.AppendString(warn, "store is slow")
	msg = append(msg, warn...)

	half := len(msg) / 2
	a, b := slices.Clone(msg[:half]), slices.Clone(msg[half:])
	var r SeriesResponse
	if err := (rawCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(a), mem.SliceBuffer(b)}, &r); err != nil {
		t.Fatal(err)
	}
	one := slices.Clone(msg)
	var r1 SeriesResponse
	if err := (rawCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(one)}, &r1); err != nil {
		t.Fatal(err)
	}
	for _, buf := range [][]byte{a, b, one} {
		for i := range buf {
			buf[i] = 0xff
		}
	}
	for _, got := range []*SeriesResponse{&r, &r1} {
		if len(got.Series) != 2 || got.Series[0].Labels.String() != `{__name__="up", job="api"}` ||
			got.Series[1].Labels.String() != `{__name__="up", job="db"}` {
			t.Fatalf("labels after the buffers were reused: %v", got.Series)
		}
		if len(got.Warnings) != 1 || got.Warnings[0] != "store is slow" {
			t.Fatalf("warnings after the buffers were reused: %q", got.Warnings)
		}
		for _, s := range got.Series {
			c, err := s.Chunks[0].Decode()
			if err != nil {
				t.Fatal(err)
			}
			it := c.Iterator(nil)
			n := 0
			for it.Next() == chunkenc.ValFloat {
				ts, v := it.At()
				if ts != int64(1000*(n+1)) || v != float64(ts)/10 {
					t.Fatalf("series %s: sample %d is (%d, %g) after the buffers were reused", s.Labels, n, ts, v)
				}
				n++
			}
			if n != 3 || it.Err() != nil {
				t.Fatalf("series %s: %d samples, err %v", s.Labels, n, it.Err())
			}
		}
	}
}
