package tunnel

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	streamhttp "k8s.io/streaming/pkg/httpstream"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// Error is a forwarded connection that broke: what the kubelet said on the error stream, or
// the data stream's own error. A broken forward is worth a retry, which opens a new one.
type Error struct {
	Target  string // namespace/pod
	Port    int
	Kubelet string // the kubelet's message; "" when Err says what happened
	Err     error
}

func (e *Error) Error() string {
	if e.Kubelet != "" {
		return fmt.Sprintf("port-forward to %s port %d: %s", e.Target, e.Port, e.Kubelet)
	}
	return fmt.Sprintf("port-forward to %s port %d: %v", e.Target, e.Port, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// FailureClass: the kubelet reports a port with nothing listening as a dial that was refused;
// anything else is the forward dropping.
func (e *Error) FailureClass() failure.Class {
	if strings.Contains(e.Kubelet, "connection refused") {
		return failure.Refused
	}
	return failure.Unavailable
}

// Conn is one forwarded connection: a data stream plus the error stream on which the kubelet
// reports why forwarding failed.
type Conn struct {
	conn   streamhttp.Connection
	data   streamhttp.Stream
	errS   streamhttp.Stream
	target string
	port   int

	errOnce   sync.Once
	errMsg    chan string // the error stream's content, once it ends
	closeOnce sync.Once
	closed    chan struct{}
}

func newConn(conn streamhttp.Connection, data, errS streamhttp.Stream, target string, port int) *Conn {
	c := &Conn{conn: conn, data: data, errS: errS, target: target, port: port, errMsg: make(chan string, 1), closed: make(chan struct{})}
	go func() {
		b, _ := io.ReadAll(errS)
		msg := strings.TrimSpace(string(b))
		c.errMsg <- msg
		if msg != "" {
			// The kubelet reports a broken forward (the pod's process died) here but may leave
			// the data stream open; end it so that a blocked Read returns the reason now rather
			// than when gRPC keepalive gives up.
			_ = c.data.Reset()
		}
	}()
	return c
}

// remoteError returns what the kubelet said, waiting briefly: the error stream closes right
// after the data stream when forwarding fails. A conn closed on our side, or a tunnel that is
// gone, has nothing more to say.
func (c *Conn) remoteError() error {
	var msg string
	c.errOnce.Do(func() {
		select {
		case msg = <-c.errMsg:
		case <-c.closed:
		case <-c.conn.CloseChan():
		case <-time.After(2 * time.Second):
		}
	})
	if msg == "" {
		return nil
	}
	return &Error{Target: c.target, Port: c.port, Kubelet: msg}
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if err != nil && n == 0 {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		if rerr := c.remoteError(); rerr != nil {
			return 0, rerr
		}
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, &Error{Target: c.target, Port: c.port, Err: err}
	}
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.data.Write(p)
	if err != nil {
		return n, &Error{Target: c.target, Port: c.port, Err: err}
	}
	return n, nil
}

// Close resets the data stream (discarding unsent data, as kubectl does, so that the error
// stream can finish) and releases both streams.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		_ = c.data.Reset()
		c.conn.RemoveStreams(c.data, c.errS)
	})
	return nil
}

type addr string

func (a addr) Network() string { return "portforward" }
func (a addr) String() string  { return string(a) }

func (c *Conn) LocalAddr() net.Addr { return addr("local") }
func (c *Conn) RemoteAddr() net.Addr {
	return addr(fmt.Sprintf("%s:%d", c.target, c.port))
}

// Deadlines are not supported by the stream; gRPC relies on its own keepalives and contexts.
func (c *Conn) SetDeadline(time.Time) error      { return nil }
func (c *Conn) SetReadDeadline(time.Time) error  { return nil }
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

var _ net.Conn = (*Conn)(nil)
