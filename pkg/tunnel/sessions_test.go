package tunnel

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/globalquery/kubectl-globalquery/internal/pki"
)

type handshake struct {
	kind, user string
	resumed    bool
}

// apiServer refuses every upgrade and records, per request, what it was, the client
// certificate's common name and whether the TLS session was resumed.
func apiServer(t *testing.T) (*httptest.Server, func() []handshake) {
	var (
		mu   sync.Mutex
		seen []handshake
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handshake{kind: "discovery", resumed: r.TLS.DidResume}
		if strings.HasSuffix(r.URL.Path, "/portforward") {
			h.kind = "websocket"
			if r.Header.Get("Upgrade") == "SPDY/3.1" {
				h.kind = "spdy"
			}
		}
		if len(r.TLS.PeerCertificates) > 0 {
			h.user = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		mu.Lock()
		seen = append(seen, h)
		mu.Unlock()
		http.Error(w, "upgrade refused", http.StatusBadRequest)
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func() []handshake {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

func clientCert(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	ca, err := pki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue(cn, cn, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Cert, pair.Key
}

func userConfig(t *testing.T, srv *httptest.Server, cn string) *rest.Config {
	cert, key := clientCert(t, cn)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca, CertData: cert, KeyData: key}}
}

func discover(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ShareSessions(cfg)
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = kc.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
}

func openTunnel(t *testing.T, cfg *rest.Config) {
	t.Helper()
	tun, err := New(cfg, "eu", "p-0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tun.Connect(context.Background()); err == nil {
		t.Fatal("upgrade accepted by a server that refuses it")
	}
}

// A tunnel opened after discovery's requests resumes their TLS session, over WebSocket and over
// the SPDY fallback, and never a session of another client certificate: a resumed session
// authenticates as the certificate of the handshake that created it.
func TestTunnelsResumeDiscoverySessionOfTheirOwnIdentity(t *testing.T) {
	srv, seen := apiServer(t)
	alice, bob := userConfig(t, srv, "alice"), userConfig(t, srv, "bob")

	discover(t, alice)
	openTunnel(t, alice)
	got := seen()
	if len(got) != 3 || got[0].kind != "discovery" || got[1].kind != "websocket" || got[2].kind != "spdy" {
		t.Fatalf("requests: %+v", got)
	}
	if got[0].resumed {
		t.Fatal("the first connection resumed a session")
	}
	for _, h := range got {
		if h.user != "alice" {
			t.Fatalf("%s authenticated as %q, want alice", h.kind, h.user)
		}
	}
	if !got[1].resumed || !got[2].resumed {
		t.Fatalf("tunnels did not resume discovery's session: %+v", got[1:])
	}

	openTunnel(t, bob)
	discover(t, bob)
	openTunnel(t, bob)
	got = seen()
	if len(got) != 5 {
		t.Fatalf("requests: %+v", got)
	}
	for _, h := range got {
		if h.user != "bob" {
			t.Fatalf("bob's %s authenticated as %q", h.kind, h.user)
		}
	}
	if got[0].resumed {
		t.Fatal("bob's first tunnel resumed alice's session")
	}
}

// Copies of one configuration (discovery's and the tunnels') share sessions; another client
// certificate, CA or verification setting does not.
func TestSessionIdentity(t *testing.T) {
	base := &rest.Config{Host: "https://10.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{
		CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key")}}
	if identity(base) != identity(rest.CopyConfig(base)) {
		t.Fatal("a copy of the configuration has another identity")
	}
	for name, change := range map[string]func(*rest.Config){
		"client certificate": func(c *rest.Config) { c.CertData = []byte("other") },
		"CA":                 func(c *rest.Config) { c.CAData = []byte("other") },
		"insecure":           func(c *rest.Config) { c.Insecure = true },
		"server":             func(c *rest.Config) { c.Host = "https://10.0.0.2:6443" },
		"exec plugin":        func(c *rest.Config) { c.ExecProvider = &clientcmdapi.ExecConfig{Command: "sso-login"} },
	} {
		c := rest.CopyConfig(base)
		change(c)
		if identity(c) == identity(base) {
			t.Errorf("another %s, the same session cache", name)
		}
	}
}

// client-go shares one cached transport between equal configurations; sharing sessions for one
// of them must leave the transport the others use as it is.
func TestShareSessionsLeavesSharedTransportsAlone(t *testing.T) {
	srv, _ := apiServer(t)
	other := userConfig(t, srv, "alice")
	rt, err := rest.TransportFor(other)
	if err != nil {
		t.Fatal(err)
	}
	discover(t, rest.CopyConfig(other))
	c, err := utilnet.TLSClientConfig(rt)
	if err != nil || c == nil {
		t.Fatalf("TLS configuration of the cached transport: %v, %v", c, err)
	}
	if c.ClientSessionCache != nil {
		t.Fatal("the transport client-go shares with another configuration got the session cache")
	}
	again, err := rest.TransportFor(other)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := utilnet.TLSClientConfig(again); c2 != c {
		t.Fatal("the configuration no longer shares client-go's cached transport: the test shows nothing")
	}
}
