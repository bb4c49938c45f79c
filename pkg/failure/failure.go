// Package failure classifies errors where they happen, so that retries decide by what went
// wrong rather than by how it was worded.
package failure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Transient reports whether err is a failure that the same request may not meet again: a store or
// tunnel that dropped (gRPC Unavailable, a reset connection, a stream cut short) or an API server
// that hiccuped (5xx, 429). Errors in the query itself, refusals (RBAC, TLS, InvalidArgument) and
// the query's own deadline or cancellation are final.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	// A failure that already outlasted its retries is not tried again by an outer loop.
	var gu *GaveUpError
	if errors.As(err, &gu) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) {
		return false
	}
	if apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) {
		return true
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK && st.Code() != codes.Unknown {
		switch st.Code() {
		case codes.Unavailable, codes.Aborted:
			return !handshakeProblem(st.Message())
		case codes.Internal:
			// gRPC reports a stream that a dropped connection cut short as Internal.
			return cutShort(st.Message())
		}
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	return cutShort(err.Error())
}

// handshakeProblem spots TLS mismatches, which gRPC also reports as Unavailable but which no
// retry mends.
func handshakeProblem(msg string) bool {
	for _, s := range []string{"tls:", "x509:", "authentication handshake failed", "first record does not look like a TLS handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func cutShort(msg string) bool {
	for _, s := range []string{"connection reset", "broken pipe", "unexpected EOF", "error reading from server", "RST_STREAM",
		"connection closed", "transport is closing", "client connection lost", "port-forward to"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// GaveUpError is a transient failure that outlasted the retries.
type GaveUpError struct {
	Attempts int
	Err      error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%v; still failing after %d attempts (--max-retries %d): check that store, or use --partial-response to answer from the others",
		e.Err, e.Attempts, e.Attempts-1)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// Backoff between attempts: doubling from the base up to 16 times it, each wait drawn from its
// upper half so that many queries failing together do not retry in step. With the default base
// the five default retries wait up to about 15 s together, longer than a restarted kubelet or a
// re-established port-forward usually takes.
const BackoffBase = 500 * time.Millisecond

// Backoff is the wait before retry number attempt (from 0).
func Backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 4)
	if d <= 0 {
		d = base
	}
	return d/2 + rand.N(d/2+1)
}
