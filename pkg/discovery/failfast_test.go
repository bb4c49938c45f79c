package discovery

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// An API server whose connections are reset fails discovery at the first request, with an
// error that names it, instead of client-go trying each request ten times more.
func TestConnectionResetFailsFast(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		// A reset, not a clean close: what a proxy or load balancer that drops the link sends.
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	FailFast(cfg, "eu")
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Discover(context.Background(), kc, Options{Namespace: "monitoring", Service: DefaultService})
	var cl *ConnectionLostError
	if !errors.As(err, &cl) || cl.Host != srv.URL || cl.Context != "eu" || !cl.Reset || !strings.Contains(cl.Path, "/namespaces/monitoring/") {
		t.Fatalf("got %#v: %v", cl, err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the reset was retried", n)
	}
	for _, raw := range []string{"connection reset by peer", "read tcp"} {
		if strings.Contains(err.Error(), raw) {
			t.Errorf("error shows %q: %v", raw, err)
		}
	}
}

// A request its caller cancelled reports the cancellation, not a lost connection.
func TestFailFastKeepsCancellation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	FailFast(cfg, "")
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Discover(ctx, kc, Options{Namespace: "monitoring", Service: DefaultService})
	var cl *ConnectionLostError
	if !errors.Is(err, context.Canceled) || errors.As(err, &cl) {
		t.Errorf("got %v", err)
	}
}
