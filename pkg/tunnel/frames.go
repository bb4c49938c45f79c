package tunnel

import (
	"net"
	"sync"
)

// frameConn sends each SPDY frame that spdystream writes as one write to the connection below.
// spdystream writes a frame in pieces (each header field on its own, then the payload), and over
// WebSocket every write is a WebSocket message in a TLS record of its own, written with its own
// system call, that the API server decrypts and forwards to the kubelet one by one: a stream
// opening took seven of them. Frames are never held back: a frame is complete before
// spdystream's write of it returns, and it goes out then.
type frameConn struct {
	net.Conn

	mu  sync.Mutex
	buf []byte
}

// spdyHeaderLen is the size of a SPDY/3 frame header, control or data: its last three bytes are
// the length of what follows.
const spdyHeaderLen = 8

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf) == 0 && frameLen(p) == len(p) {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	n := 0
	for {
		l := frameLen(c.buf[n:])
		if l < 0 || n+l > len(c.buf) {
			break
		}
		n += l
	}
	if n == 0 {
		return len(p), nil
	}
	_, err := c.Conn.Write(c.buf[:n])
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// frameLen is the size of the frame at the start of b, header included, or -1 while b does not
// yet hold a whole header.
func frameLen(b []byte) int {
	if len(b) < spdyHeaderLen {
		return -1
	}
	return spdyHeaderLen + (int(b[5])<<16 | int(b[6])<<8 | int(b[7]))
}
