package tunnel

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// Each tunnel is a TLS connection of its own, and a full handshake makes the client verify the
// server's certificate chain and signature and the server sign. With a session cache filled by
// the discovery requests, the tunnels opened next resume instead.
//
// A resumed session keeps the client certificate of the handshake that created it, and the
// server's certificate is not verified again against the roots of the resuming configuration, so
// sessions are never shared between client identities or trust settings: one cache per API
// server, client certificate source and CA (a token or impersonation travels in headers and does
// not matter here). Within a cache sessions are keyed by server name; a server that rejects a
// ticket gets a full handshake.
var sessionCaches sync.Map // identity → tls.ClientSessionCache

func sessionsFor(cfg *rest.Config) tls.ClientSessionCache {
	key := identity(cfg)
	if c, ok := sessionCaches.Load(key); ok {
		return c.(tls.ClientSessionCache)
	}
	c, _ := sessionCaches.LoadOrStore(key, tls.NewLRUClientSessionCache(16))
	return c.(tls.ClientSessionCache)
}

// identity names the API server, the source of the client certificate and the trust settings in
// cfg.
func identity(cfg *rest.Config) string {
	h := sha256.New()
	t := cfg.TLSClientConfig
	fmt.Fprintf(h, "%q %q %q %q %q %t %d %d %d\n", cfg.Host, t.ServerName, t.CertFile, t.KeyFile, t.CAFile, t.Insecure,
		len(t.CertData), len(t.KeyData), len(t.CAData))
	h.Write(t.CertData)
	h.Write(t.KeyData)
	h.Write(t.CAData)
	if e := cfg.ExecProvider; e != nil {
		fmt.Fprintf(h, "exec %q %q %q %q\n", e.APIVersion, e.Command, e.Args, e.Env)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ShareSessions makes the clients built from cfg (discovery's) keep their TLS sessions where the
// tunnels of the same identity look for them. It must be called before the first client is built
// from cfg.
func ShareSessions(cfg *rest.Config) {
	cache := sessionsFor(cfg)
	if cfg.Proxy == nil {
		// client-go's default, set explicitly: a configuration with a proxy function gets a
		// transport of its own, where one from client-go's cache may be in use by other clients,
		// whose TLS configuration must not change under them.
		cfg.Proxy = http.ProxyFromEnvironment
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		// client-go hands its new transport here, wrapped, before any request is made. A
		// transport whose TLS configuration cannot be reached (a custom Transport in the
		// config) keeps full handshakes.
		if c, err := utilnet.TLSClientConfig(rt); err == nil && c != nil && c.ClientSessionCache == nil {
			c.ClientSessionCache = cache
		}
		return rt
	})
}

// tlsConfig is the TLS configuration client-go would use for cfg, with its identity's sessions.
func tlsConfig(cfg *rest.Config) (*tls.Config, error) {
	c, err := rest.TLSConfigFor(cfg)
	if err != nil || c == nil {
		return c, err
	}
	c.ClientSessionCache = sessionsFor(cfg)
	return c, nil
}
