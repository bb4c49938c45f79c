package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
)

// explainTunnel words a failed port-forward upgrade: RBAC, a vanished pod, or the API server.
func explainTunnel(err error, t discovery.Target) error {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("port-forward to %s timed out (is the API server reachable and the node's kubelet answering?)", t)
	case apierrors.IsForbidden(err) || strings.Contains(msg, "403") || strings.Contains(strings.ToLower(msg), "forbidden"):
		return fmt.Errorf("forbidden: you may not create pods/portforward in namespace %s (RBAC)", t.Namespace)
	case apierrors.IsNotFound(err) || strings.Contains(msg, "404"):
		return fmt.Errorf("pod %s not found (it may have been rescheduled; retry)", t)
	case strings.Contains(msg, "401") || strings.Contains(strings.ToLower(msg), "unauthorized"):
		return fmt.Errorf("port-forward to %s: the API server rejected your credentials", t)
	}
	return fmt.Errorf("port-forward to %s: %w", t, err)
}
