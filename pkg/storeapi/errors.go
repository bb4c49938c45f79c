package storeapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Explain turns a gRPC error into a sentence a person can act on, without the
// "rpc error: code = ... desc = ..." wrapping; other errors pass through unchanged.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out waiting for the store (raise --timeout, or check that the store is not overloaded)"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	// status.FromError on a wrapped status ("info: rpc error: ...") gives the whole wrapped
	// text as its message: take the status itself.
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err.Error()
	}
	st := se.GRPCStatus()
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		m := trimTransport(msg)
		if strings.Contains(m, "tls:") || strings.Contains(m, "x509:") || strings.Contains(m, "authentication handshake failed") ||
			strings.Contains(m, "first record does not look like a TLS handshake") {
			return fmt.Sprintf("TLS handshake failed: %s (check --grpc-client-tls-secure and the certificates)", m)
		}
		// The API server reached the pod, but nothing listens on the port there.
		if strings.Contains(m, "failed to dial") && strings.Contains(m, "connection refused") {
			port := ""
			if i := strings.Index(m, "error forwarding port "); i >= 0 {
				port = " " + strings.Fields(m[i+len("error forwarding port "):])[0]
			}
			return fmt.Sprintf("nothing listens on port%s in the pod: its sidecar is down or not started (kubectl logs -c thanos-sidecar, kubectl describe pod)", port)
		}
		// A TLS server hangs up on a plaintext HTTP/2 preface: EOF or a reset, depending on timing.
		if strings.Contains(m, "server preface") {
			return fmt.Sprintf("unavailable: %s (the store may require TLS: --grpc-client-tls-secure; or its sidecar is down)", m)
		}
		return fmt.Sprintf("unavailable: %s (is the sidecar running and the tunnel open?)", m)
	case codes.DeadlineExceeded:
		return "timed out waiting for the store (raise --timeout, or check that the store is not overloaded)"
	case codes.Canceled:
		return "cancelled"
	case codes.Unimplemented:
		return fmt.Sprintf("does not implement %s: it is not a Thanos StoreAPI (sidecar, store gateway, querier) or is too old", msg)
	case codes.ResourceExhausted:
		return fmt.Sprintf("response too large or store over its limits: %s", msg)
	case codes.InvalidArgument:
		return fmt.Sprintf("rejected the request: %s", msg)
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Sprintf("refused access: %s (check the --grpc-client-tls flags)", msg)
	}
	return fmt.Sprintf("%s: %s", strings.ToLower(strings.ReplaceAll(st.Code().String(), "_", " ")), msg)
}

// trimTransport drops grpc's "connection error: desc = " wrapping from transport messages.
func trimTransport(msg string) string {
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = strings.Trim(msg[i+len("desc = "):], `"`)
	}
	return strings.TrimPrefix(msg, "transport: Error while dialing: ")
}
