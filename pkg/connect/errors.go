package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// explainTunnel words a failed port-forward upgrade: RBAC, a vanished pod, or the API server.
func explainTunnel(err error, t discovery.Target) error {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return failure.New(failure.Timeout, failure.Message(fmt.Sprintf("port-forward to %s timed out (is the API server reachable and the node's kubelet answering?)", t)), err)
	case apierrors.IsForbidden(err) || strings.Contains(msg, "403") || strings.Contains(strings.ToLower(msg), "forbidden"):
		return failure.New(failure.Forbidden, failure.Message(fmt.Sprintf("forbidden: you may not create pods/portforward in namespace %s (RBAC)", t.Namespace)), err)
	case apierrors.IsNotFound(err) || strings.Contains(msg, "404"):
		return failure.New(failure.NotReady, failure.Message(fmt.Sprintf("pod %s not found (it may have been rescheduled; retry)", t)), err)
	case strings.Contains(msg, "401") || strings.Contains(strings.ToLower(msg), "unauthorized"):
		return failure.New(failure.Unauthorized, failure.Message(fmt.Sprintf("port-forward to %s: the API server rejected your credentials", t)), err)
	}
	return fmt.Errorf("port-forward to %s: %w", t, err)
}
