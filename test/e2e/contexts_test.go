package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// barrier opens once every one of n relays has accepted a connection.
type barrier struct {
	mu   sync.Mutex
	seen []bool
	left int
	open chan struct{}
}

func newBarrier(n int) *barrier {
	return &barrier{seen: make([]bool, n), left: n, open: make(chan struct{})}
}

func (b *barrier) arrive(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen[i] {
		return
	}
	b.seen[i] = true
	if b.left--; b.left == 0 {
		close(b.open)
	}
}

// waiting names the relays that have accepted nothing yet.
func (b *barrier) waiting() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int
	for i, s := range b.seen {
		if !s {
			out = append(out, i)
		}
	}
	return out
}

// startHeldRelay listens on loopback and relays every connection to upstream, but only once the
// barrier is open: a connection accepted before waits, unanswered, for the other relays'.
func startHeldRelay(t *testing.T, i int, b *barrier, upstream string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		close(done)
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			b.arrive(i)
			wg.Go(func() {
				select {
				case <-b.open:
				case <-done:
					return
				}
				up, err := net.Dial("tcp", upstream)
				if err != nil {
					c.Close()
					return
				}
				track(up)
				var pipes sync.WaitGroup
				pipes.Go(func() { io.Copy(up, c); up.Close() })
				pipes.Go(func() { io.Copy(c, up); c.Close() })
				pipes.Wait()
			})
		}
	})
	return ln.Addr().String()
}

// Contexts are discovered at once. Four contexts reach the bed's API server each through a relay
// that holds its first connection until all four relays have one: discovery that read the
// contexts one after another would wait on the first forever (here: until the deadline).
func TestAllContextsDiscoveredAtOnce(t *testing.T) {
	const n = 4
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	cluster := cfg.Clusters[cur.Cluster]
	upstream := strings.TrimPrefix(theBed.APIServer, "https://")
	b := newBarrier(n)
	out := clientcmdapi.NewConfig()
	out.AuthInfos = cfg.AuthInfos
	var names []string
	for i := range n {
		name := fmt.Sprintf("region-%d", i)
		names = append(names, name)
		// The relays listen on 127.0.0.1 as the API server does: its certificate names that
		// address, so that TLS verifies end to end through the plain TCP relay.
		c := cluster.DeepCopy()
		c.Server = "https://" + startHeldRelay(t, i, b, upstream)
		out.Clusters[name] = c
		kctx := cur.DeepCopy()
		kctx.Cluster = name
		out.Contexts[name] = kctx
	}
	out.CurrentContext = names[0]
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		t.Fatal(err)
	}

	o := cmd.NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard())
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	scfg := o.Config()
	scfg.Kube.KubeConfig = &path
	scfg.AllContexts = true
	// Generous: at once, it takes a second or two; one after another, never.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	set, warns, err := stores.Open(ctx, scfg)
	if err != nil {
		if w := b.waiting(); len(w) > 0 {
			t.Fatalf("relays %v never saw a connection while the others waited: the contexts were not discovered at once (%v)", w, err)
		}
		t.Fatalf("open: %v (warnings %v)", err, warns)
	}
	defer set.Close()
	per := map[string]int{}
	for _, s := range set.Stores {
		kctx, _, _ := strings.Cut(s.Store.Name, "/")
		if kctx != s.Context {
			t.Errorf("store %s of context %s is not named with it", s.Store.Name, s.Context)
		}
		per[s.Context]++
	}
	for _, name := range names {
		if per[name] != len(theBed.Stores) {
			t.Errorf("context %s: %d stores, the bed has %d (all: %v)", name, per[name], len(theBed.Stores), per)
		}
	}
	if len(set.Failures) > 0 {
		t.Errorf("failures: %v", set.Failures)
	}
}
