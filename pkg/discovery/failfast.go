package discovery

import (
	"net/http"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// FailFast makes the clients built from cfg give up on a request whose connection to the API
// server is cut (reset, closed before the answer, an HTTP/2 connection lost), as a
// *ConnectionLostError, instead of client-go trying it again ten times a second apart. A link
// cut during discovery is a VPN, proxy or load balancer in the way more often than a hiccup, and
// after those retries client-go still ends with a bare network error. It must be called before
// the first client is built from cfg; context is the kube context cfg is for ("" for the
// current one).
func FailFast(cfg *rest.Config, context string) {
	host := cfg.Host
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &failFast{next: rt, host: host, context: context}
	})
}

type failFast struct {
	next          http.RoundTripper
	host, context string
}

func (f *failFast) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	// A request cancelled by its caller keeps its context's error.
	if err == nil || req.Context().Err() != nil {
		return resp, err
	}
	if utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err) {
		return nil, &ConnectionLostError{Host: f.host, Context: f.context, Method: req.Method, Path: req.URL.Path, Reset: utilnet.IsConnectionReset(err)}
	}
	return resp, err
}

// ConnectionLostError is a request to the API server whose connection was cut before the answer
// came. It keeps the network error out of both its text and its chain on purpose: client-go
// retries requests whose errors look like a cut connection, and this one must not be retried.
type ConnectionLostError struct {
	Host, Context string
	Method, Path  string
	Reset         bool // reset by the other end, rather than closed
}

func (e *ConnectionLostError) Error() string {
	how := "closed"
	if e.Reset {
		how = "reset"
	}
	return "the connection to the API server at " + e.Host + " was " + how + " during " + e.Method + " " + e.Path
}
