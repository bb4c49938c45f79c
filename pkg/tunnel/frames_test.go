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
// in one write, and the bytes must be the framer's.
func TestFrameConnWritesWholeFrames(t *testing.T) {
	frames := []spdy.Frame{
		&spdy.SynStreamFrame{StreamId: 1, Headers: http.Header{"Streamtype": {"error"}, "Port": {"10901"}, "Requestid": {"1"}}},
		&spdy.SynStreamFrame{StreamId: 3, Headers: http.Header{"Streamtype": {"data"}, "Port": {"10901"}, "Requestid": {"1"}}},
		&spdy.DataFrame{StreamId: 3, Data: bytes.Repeat([]byte("PRI * HTTP/2.0"), 3000)},
		&spdy.DataFrame{StreamId: 3, Data: nil, Flags: spdy.DataFlagFin},
		&spdy.PingFrame{Id: 7},
		&spdy.RstStreamFrame{StreamId: 1, Status: spdy.Cancel},
	}
	var want bytes.Buffer
	direct, err := spdy.NewFramer(&want, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordConn{}
	fc := &frameConn{Conn: rec}
	framed, err := spdy.NewFramer(fc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := direct.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := framed.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if len(rec.writes) != i+1 {
			t.Fatalf("after frame %d (%T): %d writes below, want %d", i, f, len(rec.writes), i+1)
		}
	}
	if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%d bytes written below, the framer wrote %d; they differ", len(got), want.Len())
	}
	if len(fc.buf) != 0 {
		t.Fatalf("%d bytes held back after whole frames", len(fc.buf))
	}
}
