package e2e

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// The chain the plugin stands on: a client-go port-forward through the API server to a pod's
// port 10901 reaches that pod's Thanos sidecar, whose Info names the pod's external labels.
func TestPortForwardReachesSidecarInfo(t *testing.T) {
	for _, s := range theBed.Stores {
		t.Run(s.Pod, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tun, err := tunnel.New(restConfig(t), s.Namespace, s.Pod, tunnel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tun.Close()
			if err := tun.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if tun.Transport() != tunnel.WebSocket {
				t.Errorf("transport %q, want websocket first", tun.Transport())
			}
			info := sidecarInfo(t, ctx, tun)
			if len(info.LabelSets) != 1 {
				t.Fatalf("label sets: %v", info.LabelSets)
			}
			ls := info.LabelSets[0]
			if ls.Get("cluster") != s.Cluster || ls.Get("replica") != s.Replica {
				t.Fatalf("external labels %s, want cluster=%q replica=%q", ls, s.Cluster, s.Replica)
			}
			// Replicas scrape with a skew of seconds, so the oldest sample may be a little later.
			if !info.IsStore || info.MinTime > theBed.HistoryStart+time.Minute.Milliseconds() {
				t.Fatalf("store info: %+v (history starts at %d)", info, theBed.HistoryStart)
			}
		})
	}
}

// sidecarInfo asks the sidecar behind tun (port 10901) for its Info.
func sidecarInfo(t *testing.T, ctx context.Context, tun *tunnel.Tunnel) *store.Info {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+tun.Pod,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return tun.Dial(ctx, 10901) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	info, err := storeapi.NewClient(conn).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.LabelSets) != 1 {
		t.Fatalf("label sets: %v", info.LabelSets)
	}
	return info
}
