package cmd

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// A connection cut during discovery is worded with the API server, the context and what to
// check, without client-go's request line or a Go type.
func TestConnectionLostNamesTheAPIServer(t *testing.T) {
	lost := &discovery.ConnectionLostError{Host: "https://10.0.0.1:6443", Context: "eu", Method: "GET", Path: "/api/v1/namespaces", Reset: true}
	// As client-go returns it: inside the HTTP client's error, inside discovery's.
	err := fmt.Errorf("list namespaces at the cluster scope: %w", &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api/v1/namespaces", Err: lost})
	got := stores.ExplainAPIServer(err, "https://10.0.0.1:6443")
	msg := got.Error()
	for _, want := range []string{"API server at https://10.0.0.1:6443 (context eu) was reset during discovery", "kubectl --context eu get --raw /readyz", "VPN, proxy or load balancer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, `Get "`) || strings.Contains(msg, "discovery.") || ExitCode(got) != 1 {
		t.Errorf("%q (exit %d)", msg, ExitCode(got))
	}
	if !errors.As(got, &lost) {
		t.Error("the typed error is lost")
	}
}
