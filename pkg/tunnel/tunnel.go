// Package tunnel opens port-forward connections to pods through the Kubernetes API server, as
// `kubectl port-forward` does (WebSocket first, SPDY when the server refuses the upgrade), and
// hands out net.Conns to a pod port directly: nothing listens on the local machine.
package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	spdyroundtrip "k8s.io/apimachinery/pkg/util/httpstream/spdy"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	pfconstants "k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/transport/websocket"
	streamhttp "k8s.io/streaming/pkg/httpstream"
	streamspdy "k8s.io/streaming/pkg/httpstream/spdy"
)

// Transport names the protocol a tunnel ended up using.
type Transport string

const (
	WebSocket Transport = "websocket"
	SPDY      Transport = "spdy"
)

// Options tune how tunnels are opened.
type Options struct {
	// DisableWebSocket goes straight to SPDY, for API servers or proxies known to mangle upgrades.
	DisableWebSocket bool
}

// Tunnel is a port-forward connection to one pod. Each Dial opens a new pair of streams on it;
// if the connection has dropped, the next Dial reconnects.
type Tunnel struct {
	Namespace, Pod string

	cfg  *rest.Config
	url  *url.URL
	opts Options

	mu        sync.Mutex
	conn      streamhttp.Connection
	transport Transport
	closed    bool
	requestID atomic.Int64
}

// New prepares a tunnel to namespace/pod; Connect or the first Dial opens it.
func New(cfg *rest.Config, namespace, pod string, opts Options) (*Tunnel, error) {
	u, err := portForwardURL(cfg, namespace, pod)
	if err != nil {
		return nil, err
	}
	return &Tunnel{Namespace: namespace, Pod: pod, cfg: cfg, url: u, opts: opts}, nil
}

func portForwardURL(cfg *rest.Config, namespace, pod string) (*url.URL, error) {
	host := cfg.Host
	if host != "" && !strings.Contains(host, "://") {
		host = "https://" + host // client-go accepts a bare host:port and means TLS
	}
	base, err := url.Parse(host)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("API server address %q is not a URL", cfg.Host)
	}
	u := *base
	u.Path = singleSlashJoin(base.Path, fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", namespace, pod))
	return &u, nil
}

func singleSlashJoin(a, b string) string {
	for len(a) > 0 && a[len(a)-1] == '/' {
		a = a[:len(a)-1]
	}
	return a + b
}

// Connect opens the connection now, so that failures (RBAC, pod gone) show up before any query.
func (t *Tunnel) Connect(ctx context.Context) error {
	_, err := t.connection(ctx)
	return err
}

// Transport reports which protocol the current connection uses ("" before it is open).
func (t *Tunnel) Transport() Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.transport
}

func (t *Tunnel) connection(ctx context.Context) (streamhttp.Connection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errors.New("tunnel closed")
	}
	if t.conn != nil {
		select {
		case <-t.conn.CloseChan():
			t.conn = nil // dropped: reconnect below
		default:
			return t.conn, nil
		}
	}
	conn, tr, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.conn, t.transport = conn, tr
	return conn, nil
}

type dialResult struct {
	conn streamhttp.Connection
	tr   Transport
	err  error
}

// dial upgrades a connection, trying WebSocket first. The upgrade calls take no context, so they
// run aside and a cancelled ctx abandons (and later closes) them.
func (t *Tunnel) dial(ctx context.Context) (streamhttp.Connection, Transport, error) {
	ch := make(chan dialResult, 1)
	go func() {
		c, tr, err := t.upgrade()
		ch <- dialResult{c, tr, err}
	}()
	select {
	case r := <-ch:
		return r.conn, r.tr, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, "", ctx.Err()
	}
}

// upgrade does what client-go's port-forward dialers do, with the TLS configuration of tlsConfig.
func (t *Tunnel) upgrade() (streamhttp.Connection, Transport, error) {
	tlsCfg, err := tlsConfig(t.cfg)
	if err != nil {
		return nil, "", err
	}
	proxy := t.cfg.Proxy
	if proxy == nil {
		proxy = utilnet.NewProxierWithNoProxyCIDR(http.ProxyFromEnvironment)
	}
	if !t.opts.DisableWebSocket {
		conn, err := t.upgradeWebSocket(tlsCfg, proxy)
		if err == nil {
			return conn, WebSocket, nil
		}
		// client-go ≥ 0.36 reports a refused upgrade as k8s.io/streaming's UpgradeFailureError,
		// which the older apimachinery check does not recognise.
		if !streamhttp.IsUpgradeFailure(err) && !streamhttp.IsHTTPSProxyError(err) {
			return nil, "", err
		}
	}
	upgrader, err := spdyroundtrip.NewRoundTripperWithConfig(spdyroundtrip.RoundTripperConfig{
		TLS: tlsCfg, Proxier: proxy, PingPeriod: 5 * time.Second,
	})
	if err != nil {
		return nil, "", err
	}
	rt, err := rest.HTTPWrappersForConfig(t.cfg, upgrader)
	if err != nil {
		return nil, "", err
	}
	d := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, t.url)
	conn, _, err := d.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, "", err
	}
	return conn, SPDY, nil
}

// upgradeWebSocket opens SPDY tunnelled through a WebSocket, as kubectl does first.
func (t *Tunnel) upgradeWebSocket(tlsCfg *tls.Config, proxy func(*http.Request) (*url.URL, error)) (streamhttp.Connection, error) {
	ws := &websocket.RoundTripper{TLSConfig: tlsCfg, Proxier: proxy}
	rt, err := rest.HTTPWrappersForConfig(t.cfg, ws)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, t.url.String(), nil)
	if err != nil {
		return nil, err
	}
	c, err := websocket.Negotiate(rt, ws, req, pfconstants.WebsocketsSPDYTunnelingPrefix+portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, err
	}
	conn, err := streamspdy.NewClientConnectionWithPings(&frameConn{Conn: portforward.NewTunnelingConnection("client", c)}, portforward.PingPeriod)
	if err != nil {
		c.Close()
		return nil, err
	}
	return conn, nil
}

// Dial opens a stream to the pod's port. The returned conn reports the kubelet's error (for
// example nothing listening on the port) as its read error.
func (t *Tunnel) Dial(ctx context.Context, port int) (*Conn, error) {
	conn, err := t.connection(ctx)
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(t.requestID.Add(1), 10)
	h := http.Header{}
	h.Set(v1.StreamType, v1.StreamTypeError)
	h.Set(v1.PortHeader, strconv.Itoa(port))
	h.Set(v1.PortForwardRequestIDHeader, id)
	errStream, err := conn.CreateStream(h)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("create error stream: %w", err)
	}
	errStream.Close() // we never write to it
	h.Set(v1.StreamType, v1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		conn.RemoveStreams(errStream)
		conn.Close()
		return nil, fmt.Errorf("create data stream: %w", err)
	}
	return newConn(conn, data, errStream, t.Namespace+"/"+t.Pod, port), nil
}

// Close ends the connection and every stream on it.
func (t *Tunnel) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.conn != nil {
		err := t.conn.Close()
		t.conn = nil
		return err
	}
	return nil
}
