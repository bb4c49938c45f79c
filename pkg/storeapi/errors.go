package storeapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// Failed is err, a failure at the store named store, classified and explained.
func Failed(store, kind string, err error) *failure.StoreError {
	return &failure.StoreError{Store: store, Kind: kind, Class: failure.Classify(err), Msg: explain(err), Err: err}
}

// Explain is a gRPC error as a sentence a person can act on, in plain words; other errors as
// they say themselves.
func Explain(err error) string {
	if m := explain(err); m != "" {
		return m.In(failure.Plain)
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// explain turns a gRPC error into a sentence a person can act on, without the
// "rpc error: code = ... desc = ..." wrapping; "" for other errors, which say it best themselves.
func explain(err error) failure.Message {
	if err == nil {
		return ""
	}
	if _, ok := err.(failure.Worded); ok {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out waiting for the store (raise {timeout}, or check that the store is not overloaded)"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	// status.FromError on a wrapped status ("info: rpc error: ...") gives the whole wrapped
	// text as its message: take the status itself.
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return ""
	}
	st := se.GRPCStatus()
	msg := failure.Literal(st.Message())
	switch st.Code() {
	case codes.Unavailable:
		m := trimTransport(msg)
		if failure.FromStatus(st) == failure.TLS {
			return failure.Message(fmt.Sprintf("TLS handshake failed: %s (check {grpc-client-tls-secure} and the certificates)", m))
		}
		// The API server reached the pod, but nothing listens on the port there.
		if strings.Contains(m, "failed to dial") && strings.Contains(m, "connection refused") {
			port := ""
			if i := strings.Index(m, "error forwarding port "); i >= 0 {
				port = " " + strings.Fields(m[i+len("error forwarding port "):])[0]
			}
			return failure.Message(fmt.Sprintf("nothing listens on port%s in the pod: its sidecar is down or not started (kubectl logs -c thanos-sidecar, kubectl describe pod)", port))
		}
		// A TLS server hangs up on a plaintext HTTP/2 preface: EOF or a reset, depending on timing.
		if strings.Contains(m, "server preface") {
			return failure.Message(fmt.Sprintf("unavailable: %s (the store may require TLS: {grpc-client-tls-secure}; or its sidecar is down)", m))
		}
		return failure.Message(fmt.Sprintf("unavailable: %s (is the sidecar running and the tunnel open?)", m))
	case codes.DeadlineExceeded:
		return "timed out waiting for the store (raise {timeout}, or check that the store is not overloaded)"
	case codes.Canceled:
		return "cancelled"
	case codes.Unimplemented:
		return failure.Message(fmt.Sprintf("does not implement %s: it is not a Thanos StoreAPI (sidecar, store gateway, querier) or is too old", msg))
	case codes.ResourceExhausted:
		return failure.Message(fmt.Sprintf("response too large or store over its limits: %s", msg))
	case codes.InvalidArgument:
		return failure.Message(fmt.Sprintf("rejected the request: %s", msg))
	case codes.Unauthenticated, codes.PermissionDenied:
		return failure.Message(fmt.Sprintf("refused access: %s (check {grpc-client-tls-secure} and the client certificate)", msg))
	}
	return failure.Message(fmt.Sprintf("%s: %s", strings.ToLower(strings.ReplaceAll(st.Code().String(), "_", " ")), msg))
}

// trimTransport drops grpc's "connection error: desc = " wrapping from transport messages.
func trimTransport(msg string) string {
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = strings.Trim(msg[i+len("desc = "):], `"`)
	}
	return strings.TrimPrefix(msg, "transport: Error while dialing: ")
}
