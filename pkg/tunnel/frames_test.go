package tunnel

import (
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/moby/spdystream/spdy"
)

// recordConn keeps each write apart.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// spdystream's own framer writes frames in pieces; below frameConn each frame must arrive whole,
// in one write, and read back as the frame written.
func TestFrameConnWritesWholeFrames(t *testing.T) {
	frames := []spdy.Frame{
		&spdy.SynStreamFrame{StreamId: 1, Headers: http.Header{"Streamtype": {"error"}, "Port": {"10901"}, "Requestid": {"1"}}},
		&spdy.SynStreamFrame{StreamId: 3, Headers: http.Header{"Streamtype": {"data"}, "Port": {"10901"}, "Requestid": {"1"}}},
		&spdy.DataFrame{StreamId: 3, Data: bytes.Repeat([]byte("PRI * HTTP/2.0"), 3000)},
		&spdy.DataFrame{StreamId: 3, Data: nil, Flags: spdy.DataFlagFin},
		&spdy.PingFrame{Id: 7},
		&spdy.RstStreamFrame{StreamId: 1, Status: spdy.Cancel},
	}
	rec := &recordConn{}
	fc := &frameConn{Conn: rec}
	framer, err := spdy.NewFramer(fc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := framer.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if len(rec.writes) != i+1 {
			t.Fatalf("after frame %d (%T): %d writes below, want %d", i, f, len(rec.writes), i+1)
		}
		if w := rec.writes[i]; frameLen(w) != len(w) {
			t.Fatalf("frame %d (%T): a write of %d bytes holding a frame of %d", i, f, len(w), frameLen(w))
		}
	}
	if len(fc.buf) != 0 {
		t.Fatalf("%d bytes held back after whole frames", len(fc.buf))
	}

	reader, err := spdy.NewFramer(nil, bytes.NewReader(bytes.Join(rec.writes, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range frames {
		got, err := reader.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		switch w := want.(type) {
		case *spdy.SynStreamFrame:
			g, ok := got.(*spdy.SynStreamFrame)
			if !ok || g.StreamId != w.StreamId || g.Headers.Get("Streamtype") != w.Headers.Get("Streamtype") || g.Headers.Get("Port") != "10901" {
				t.Fatalf("frame %d: read %#v, wrote %#v", i, got, want)
			}
		case *spdy.DataFrame:
			g, ok := got.(*spdy.DataFrame)
			if !ok || g.StreamId != w.StreamId || g.Flags != w.Flags || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("frame %d: read %T (stream %v), wrote a data frame", i, got, w.StreamId)
			}
		case *spdy.PingFrame:
			if g, ok := got.(*spdy.PingFrame); !ok || g.Id != w.Id {
				t.Fatalf("frame %d: read %#v, wrote %#v", i, got, want)
			}
		case *spdy.RstStreamFrame:
			if g, ok := got.(*spdy.RstStreamFrame); !ok || g.StreamId != w.StreamId || g.Status != w.Status {
				t.Fatalf("frame %d: read %#v, wrote %#v", i, got, want)
			}
		}
	}
}
