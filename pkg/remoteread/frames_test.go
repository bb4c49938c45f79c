package remoteread

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/protobuf/encoding/protowire"
)

func xorChunk(t testing.TB, ts ...int64) []byte {
	c := chunkenc.NewXORChunk()
	a, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		a.Append(0, x, float64(x))
	}
	return c.Bytes()
}

// chunkedSeries encodes a prompb.ChunkedSeries frame body the way Prometheus does.
func chunkedSeries(ls labels.Labels, chunks ...[]byte) []byte {
	var s []byte
	ls.Range(func(l labels.Label) {
		var lb []byte
		lb = protowire.AppendTag(lb, labelName, protowire.BytesType)
		lb = protowire.AppendString(lb, l.Name)
		lb = protowire.AppendTag(lb, labelValue, protowire.BytesType)
		lb = protowire.AppendString(lb, l.Value)
		s = protowire.AppendTag(s, csLabels, protowire.BytesType)
		s = protowire.AppendBytes(s, lb)
	})
	for i, d := range chunks {
		var cb []byte
		cb = protowire.AppendTag(cb, chunkMinTime, protowire.VarintType)
		cb = protowire.AppendVarint(cb, uint64(i*1000))
		cb = protowire.AppendTag(cb, chunkMaxTime, protowire.VarintType)
		cb = protowire.AppendVarint(cb, uint64(i*1000+999))
		cb = protowire.AppendTag(cb, chunkType, protowire.VarintType)
		cb = protowire.AppendVarint(cb, 1) // XOR
		cb = protowire.AppendTag(cb, chunkData, protowire.BytesType)
		cb = protowire.AppendBytes(cb, d)
		s = protowire.AppendTag(s, csChunks, protowire.BytesType)
		s = protowire.AppendBytes(s, cb)
	}
	var f []byte
	f = protowire.AppendTag(f, crSeries, protowire.BytesType)
	return protowire.AppendBytes(f, s)
}

func TestFramesRoundTrip(t *testing.T) {
	var b []byte
	want := [][]byte{[]byte("one"), bytes.Repeat([]byte{7}, 300), []byte("x")}
	for _, w := range want {
		b = appendFrame(b, w)
	}
	fr := newFrameReader(bytes.NewReader(b))
	for _, w := range want {
		got, err := fr.next()
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("frame %q, %v; want %q", got, err, w)
		}
	}
	if _, err := fr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

// A cut, corrupted or oversized stream is an error that says so, never a panic or a silent end.
func TestMalformedFrames(t *testing.T) {
	good := appendFrame(nil, []byte("hello, frames"))
	badCRC := bytes.Clone(good)
	badCRC[3] ^= 0xff
	huge := appendFrame(nil, nil)
	huge = append([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, huge[1:]...)
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"bad checksum":        {badCRC, "checksum"},
		"cut in the data":     {good[:len(good)-3], io.ErrUnexpectedEOF.Error()},
		"cut in the checksum": {good[:3], io.ErrUnexpectedEOF.Error()},
		"cut in the length":   {[]byte{0x80}, "frame length"},
		"too large":           {huge, "more than the"},
	} {
		_, err := newFrameReader(bytes.NewReader(tc.b)).next()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
}

func TestDecodeChunkedReadResponse(t *testing.T) {
	ls := labels.FromStrings("__name__", "up", "cluster", "eu", "job", "api")
	data := xorChunk(t, 1000, 2000)
	var lb labels.ScratchBuilder
	got, err := decodeChunkedReadResponse(chunkedSeries(ls, data), &lb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !labels.Equal(got[0].labels, ls) || len(got[0].chunks) != 1 {
		t.Fatalf("got %+v", got)
	}
	c := got[0].chunks[0]
	if c.Encoding != 0 || !bytes.Equal(c.Data, data) || c.MaxTime != 999 {
		t.Fatalf("chunk %+v", c)
	}
	dec, err := c.Decode()
	if err != nil || dec.NumSamples() != 2 {
		t.Fatalf("decode: %v", err)
	}
	// Wrong wire types and cut messages are errors.
	for name, b := range map[string][]byte{
		"cut":              chunkedSeries(ls, data)[:20],
		"series as varint": protowire.AppendVarint(protowire.AppendTag(nil, crSeries, protowire.VarintType), 5),
	} {
		if _, err := decodeChunkedReadResponse(b, &lb); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Whatever a Prometheus (or something posing as one) sends, decoding gives an error or series
// whose chunks can be read, never a panic.
func FuzzFrames(f *testing.F) {
	t := &testing.T{}
	frame := chunkedSeries(labels.FromStrings("__name__", "up"), xorChunk(t, 1, 2, 3))
	f.Add(appendFrame(nil, frame))
	f.Add(appendFrame(appendFrame(nil, frame), frame))
	f.Add(frame)
	f.Add([]byte{0x05, 0, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var lb labels.ScratchBuilder
		// The frame body on its own, since random bytes rarely pass the checksum.
		if ss, err := decodeChunkedReadResponse(b, &lb); err == nil {
			for _, s := range ss {
				_ = s.labels.String()
			}
		}
		fr := newFrameReader(bytes.NewReader(b))
		for range 100 {
			data, err := fr.next()
			if err != nil {
				return
			}
			ss, err := decodeChunkedReadResponse(data, &lb)
			if err != nil {
				continue
			}
			for _, s := range ss {
				_ = s.labels.String()
				for i := range s.chunks {
					c, err := s.chunks[i].Decode()
					if err != nil {
						continue
					}
					it := c.Iterator(nil)
					for n := 0; n < 1000 && it.Next() != chunkenc.ValNone; n++ {
					}
				}
			}
		}
	})
}
