package e2e

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpProxy forwards to a real store until it is shut down; then the store behind it is gone for
// the plugin as a dead pod or tunnel would be.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{}
	p.ln = forward(t, target, func(c, u net.Conn) {
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(c, u); c.Close() }()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// forward listens on a free loopback port and connects every client c to target: what the client
// sends goes to target as it is, and answer(c, u) carries what target sends back.
func forward(t *testing.T, target string, answer func(c, u net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(u, c); u.Close() }()
			answer(c, u)
		}
	}()
	return ln
}

// slowProxy forwards to a real store; once held, it keeps every answer back by delay: a store
// that answered Info promptly and is then slow on Series. holding is closed when it first holds
// an answer back, so a test knows its client is waiting.
type slowProxy struct {
	addr    string
	held    atomic.Bool
	holding chan struct{}
	once    sync.Once
}

func startSlowProxy(t *testing.T, target string, delay time.Duration) *slowProxy {
	t.Helper()
	p := &slowProxy{holding: make(chan struct{})}
	ln := forward(t, target, func(c, u net.Conn) {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := u.Read(buf)
				if n > 0 {
					if p.held.Load() {
						p.once.Do(func() { close(p.holding) })
						time.Sleep(delay) // the fault itself
					}
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}()
	})
	p.addr = ln.Addr().String()
	return p
}

// hold makes every answer from now on wait.
func (p *slowProxy) hold() { p.held.Store(true) }

func (p *tcpProxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// With a store gone after discovery, the default is an error naming it; --partial-response
// answers from the rest, equal to the Querier's partial answer, with a warning naming it.
func TestPartialResponse(t *testing.T) {
	proxy := startProxy(t, theBed.Stores[0].SidecarGRPC)
	set, _ := connectStores(t, withEndpoints(append(sidecarAddrs(), proxy.addr())...))
	if len(set.Stores) != 4 {
		t.Fatalf("%d stores", len(set.Stores))
	}
	stores := set.FanoutStores()
	q := `sum by (cluster) (rate(http_requests_total[5m]))`
	at := secs(theBed.HistoryEnd - 20*60_000)
	want := oracle(t, "/api/v1/query", url.Values{"query": {q}, "time": {at}, "partial_response": {"true"}})

	// While the duplicate store is up, its data merges away.
	if d := diffOrErr(t, runOurs(t, stores, []string{q, "-o", "json", "--time", at}), want, false); d != "" {
		t.Fatalf("with every store up: %s", d)
	}
	proxy.kill()

	strict := runOurs(t, stores, []string{q, "-o", "json", "--time", at})
	if strict.Status != "error" || !strings.Contains(strict.Error, "store "+proxy.addr()) {
		t.Fatalf("strict answer with a store down: %+v", strict)
	}
	if strings.Contains(strict.Error, "rpc error: code =") {
		t.Fatalf("raw gRPC error shown: %s", strict.Error)
	}
	partial := runOurs(t, stores, []string{q, "-o", "json", "--time", at, "--partial-response"})
	if d := diffOrErr(t, partial, want, false); d != "" {
		t.Fatalf("partial answer: %s", d)
	}
	if len(partial.Warnings) != 1 || !strings.Contains(partial.Warnings[0], proxy.addr()) {
		t.Fatalf("partial warnings %q, want one naming %s", partial.Warnings, proxy.addr())
	}
}
