package stores

import (
	"fmt"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
)

// connectionLost words a connection to the API server cut during discovery: which API server
// and context, and where to look, since retrying at once rarely helps when something on the way
// (a VPN, a proxy, a load balancer) drops the link.
type connectionLost struct{ *discovery.ConnectionLostError }

func (e connectionLost) Error() string {
	how, of, check := "closed", "", "kubectl get --raw /readyz"
	if e.Reset {
		how = "reset"
	}
	if e.Context != "" {
		of = " (context " + e.Context + ")"
		check = "kubectl --context " + e.Context + " get --raw /readyz"
	}
	return fmt.Sprintf("the connection to the API server at %s%s was %s during discovery (%s %s): "+
		"check that the API server is up and reachable from here, through any VPN, proxy or load balancer on the way (%s), then try again",
		e.Host, of, how, e.Method, e.Path, check)
}

func (e connectionLost) Unwrap() error { return e.ConnectionLostError }
