package e2e

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
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

// startSlowProxy forwards to a real store, but holds every answer back by delay once the
// connection is established: a store that answers Info promptly and then is slow on Series.
func startSlowProxy(t *testing.T, target string, delay time.Duration) string {
	return startSlowProxyAfter(t, target, delay, 300*time.Millisecond)
}

// startSlowProxyAfter is startSlowProxy with the prompt period given.
func startSlowProxyAfter(t *testing.T, target string, delay, prompt time.Duration) string {
	t.Helper()
	ln := forward(t, target, func(c, u net.Conn) {
		go func() {
			// The first answers (HTTP/2 settings, Info) pass at once; later ones wait.
			buf := make([]byte, 32<<10)
			start := time.Now()
			for {
				n, err := u.Read(buf)
				if n > 0 {
					if time.Since(start) >= prompt {
						time.Sleep(delay)
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
	return ln.Addr().String()
}

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
