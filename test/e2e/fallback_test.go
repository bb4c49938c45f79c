package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// An API server that refuses WebSocket port-forwards must still be reachable: the tunnel falls
// back to SPDY, as kubectl does. client-go ≥ 0.36 reports the refusal with a type the older
// apimachinery check does not know, so this proves the fallback really fires.
func TestTunnelFallsBackToSPDY(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second bed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := bed.Up(ctx, bed.Config{Dir: dir, HistoryHours: 1, Log: os.Stderr,
		APIServerArgs: []string{"--feature-gates=PortForwardWebsockets=false"}})
	if err != nil {
		t.Fatalf("bed without WebSocket port-forward: %v", err)
	}
	defer b.Down()
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
}
