package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// An API server that refuses WebSocket port-forwards must still be reachable: the tunnel falls
// back to SPDY, as kubectl does. client-go ≥ 0.36 reports the refusal with a type the older
// apimachinery check does not know, so this proves the fallback really fires.
func TestTunnelFallsBackToSPDY(t *testing.T) {
	b := secondBed(t, "bed without WebSocket port-forward", bed.Config{APIServerArgs: []string{"--feature-gates=PortForwardWebsockets=false"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Stores[0]
	tun, err := tunnel.New(cfg, s.Namespace, s.Pod, tunnel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if err := tun.Connect(ctx); err != nil {
		t.Fatalf("connect with WebSocket refused: %v", err)
	}
	if tun.Transport() != tunnel.SPDY {
		t.Fatalf("transport %q, want spdy after the refused WebSocket upgrade", tun.Transport())
	}
	info := sidecarInfo(t, ctx, tun)
	if info.LabelSets[0].Get("replica") != s.Replica {
		t.Fatalf("external labels %v, want replica %q", info.LabelSets, s.Replica)
	}
	tun.Close()

	t.Run("sidecar dies behind an open tunnel", func(t *testing.T) { sidecarDies(t, b) })
	t.Run("sidecar dies in the middle of a Series stream", func(t *testing.T) { sidecarDiesMidStream(t, b) })
}

// A sidecar killed while its Series call is in flight: the read ends with an error naming the
// store within the keepalive's bound (no hang), with none of the store's series in it (a store's
// answer counts only whole), and closing the connections leaves no goroutine behind. The sidecar
// is frozen first so that the kill is sure to land while the call is open: its stream is small
// enough to arrive whole in a few milliseconds otherwise.
func sidecarDiesMidStream(t *testing.T, b *bed.State) {
	goroutinesBefore := goroutinesNow()
	set, fopts := connectStores(t, func(c *stores.Config) {
		withKubeconfig(b.Kubeconfig)(c)
		c.PartialResponse = true // the store killed before is gone; connect to the others
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	victim := b.Stores[len(b.Stores)-1]
	var store *fanout.Store
	for _, s := range set.FanoutStores() {
		if s.Name == victim.Namespace+"/"+victim.Pod {
			store = s
		}
	}
	if store == nil {
		t.Fatalf("store %s/%s not connected", victim.Namespace, victim.Pod)
	}
	fopts.PartialResponse = false
	q := &fanout.Queryable{Stores: []*fanout.Store{store}, Opts: fopts}
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	read := func() storage.SeriesSet {
		qr, err := q.Querier(b.HistoryStart, time.Now().UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		return qr.Select(ctx, true, nil, all)
	}
	total := 0
	for ss := read(); ss.Next(); {
		total++
	}
	t.Logf("%d series, %d chunk bytes in one read of the store", total, store.Stats.SamplesBytes.Load())

	var pid int
	for _, p := range b.Procs {
		if p.Name == "sidecar-"+shortName(victim) {
			pid = p.PID
		}
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	calls := store.Stats.SeriesCalls.Load()
	result := make(chan storage.SeriesSet, 1)
	go func() { result <- read() }()
	waitFor(t, "the Series call to start", func() (bool, error) { return store.Stats.SeriesCalls.Load() > calls, nil })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ss := <-result
	n := 0
	for ss.Next() {
		n++
	}
	t.Logf("after the kill: %d of %d series, then %v after %s", n, total, ss.Err(), time.Since(start).Round(time.Millisecond))
	if ss.Err() == nil {
		t.Fatalf("the read ended without an error after %d of %d series", n, total)
	}
	if n != 0 {
		t.Errorf("%d series of the failed store reached the caller", n)
	}
	msg := ss.Err().Error()
	if !strings.Contains(msg, victim.Namespace+"/"+victim.Pod) {
		t.Errorf("error %q does not name the store", msg)
	}
	for _, bad := range []string{"rpc error: code =", "context deadline exceeded"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error %q shows %q", msg, bad)
		}
	}
	// Keepalive's bound is 15 s; more is room for a loaded machine, and only a hang fails.
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("the read took %s to end after the kill", d)
	}
	set.Close()
	goroutinesBefore.noneLeft(t, "after Close")
}

// A sidecar that dies after its tunnel and gRPC connection are up: the query fails within the
// timeout naming the store, or goes partial, and nothing is left running afterwards.
func sidecarDies(t *testing.T, b *bed.State) {
	goroutinesBefore := goroutinesNow()
	set, _ := connectStores(t, withKubeconfig(b.Kubeconfig))
	victim := b.Stores[0]
	for _, p := range b.Procs {
		if p.Name == "sidecar-"+shortName(victim) {
			if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	q := `count(up)`
	start := time.Now()
	// No retries: this is about noticing the dead store; retrying it is TestRetry*'s.
	strict := runOurs(t, set.FanoutStores(), []string{q, "-o", "json", "--timeout=20s", "--max-retries=0"})
	if strict.Status != "error" || !strings.Contains(strict.Error, victim.Namespace+"/"+victim.Pod) {
		t.Fatalf("strict answer with a dead sidecar: %+v", strict)
	}
	for _, bad := range []string{"rpc error: code =", "context deadline exceeded"} {
		if strings.Contains(strict.Error, bad) {
			t.Errorf("error %q shows %q", strict.Error, bad)
		}
	}
	t.Logf("strict answer after %s: %s", time.Since(start).Round(time.Millisecond), strict.Error)
	partial := runOurs(t, set.FanoutStores(), []string{q, "-o", "json", "--timeout=20s", "--max-retries=0", "--partial-response"})
	t.Logf("partial answer after %s", time.Since(start).Round(time.Millisecond))
	if partial.Status != "success" || len(partial.Warnings) == 0 || !strings.Contains(partial.Warnings[0], victim.Pod) {
		t.Fatalf("partial answer with a dead sidecar: %+v", partial)
	}
	// Keepalive notices the dead stream within 15 s, a reconnect gives up within 5 s; the rest
	// is room for a loaded machine. Only a hang should fail this.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("noticing the dead sidecar took %s", d)
	}
	set.Close()
	goroutinesBefore.noneLeft(t, "after Close")
}

// shortName is the bed's process name suffix for a store, e.g. eu-0.
func shortName(s bed.Store) string {
	region := "us"
	if s.Namespace == "europe" {
		region = "eu"
	}
	return region + "-" + s.Pod[len(s.Pod)-1:]
}
