package storeapi

import (
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Whatever a store sends, decoding returns an error or series whose chunks can be read without
// panicking: a malformed frame must not take the plugin down.
func FuzzSeriesResponse(f *testing.F) {
	t := &testing.T{}
	good := series([][2]string{{"__name__", "up"}, {"job", "a"}}, aggrChunk(1000, 3000, 0, xorChunk(t, 1000, 2000, 3000)))
	var frame, batch []byte
	frame = protowire.AppendTag(frame, 1, protowire.BytesType)
	frame = protowire.AppendBytes(frame, good)
	batch = protowire.AppendTag(batch, 4, protowire.BytesType)
	batch = protowire.AppendBytes(batch, frame)
	f.Add(frame)
	f.Add(batch)
	f.Add([]byte{0x12, 0x03, 'a', 'b', 'c'})
	f.Add(series(nil, aggrChunk(0, 0, 1, []byte{0, 1, 2, 3})))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r SeriesResponse
		if err := r.Unmarshal(b); err != nil {
			return
		}
		for _, s := range r.Series {
			_ = s.Labels.String()
			for i := range s.Chunks {
				c, err := s.Chunks[i].Decode()
				if err != nil {
					continue
				}
				it := c.Iterator(nil)
				for n := 0; n < 10000; n++ {
					switch it.Next() {
					case chunkenc.ValNone:
						n = 10000
					case chunkenc.ValFloat:
						it.At()
					case chunkenc.ValHistogram:
						it.AtHistogram(nil)
					case chunkenc.ValFloatHistogram:
						it.AtFloatHistogram(nil)
					}
				}
			}
		}
	})
}

func FuzzInfo(f *testing.F) {
	f.Add([]byte{0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 'a', 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var inf store.Info
		_ = infoResponse{&inf}.Unmarshal(b)
	})
}
