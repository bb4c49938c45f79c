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

// Class is what kind of failure an error is, decided where it happened: retries decide by it,
// and edges pick their status codes and advice by it.
type Class uint8

const (
	Unknown Class = iota
	// Unavailable: a store or its link dropped (gRPC Unavailable, a reset connection, a stream
	// cut short, a dropped port-forward) or the API server hiccuped (5xx, 429). Worth a retry.
	Unavailable
	// Refused: nothing listens on the store's port, as while its sidecar restarts. Worth a retry.
	Refused
	// NotReady: the store's pod is gone or not serving yet.
	NotReady
	// Unauthorized: the credentials were rejected (401).
	Unauthorized
	// Forbidden: the credentials are not allowed to (RBAC, gRPC PermissionDenied).
	Forbidden
	// TLS: the handshake or a certificate does not match.
	TLS
	// Limit: a limit of ours or of the store's stopped the query.
	Limit
	// Query: the query or request itself is wrong; the store says so.
	Query
	// Timeout: a deadline ran out.
	Timeout
	// Canceled: whoever asked went away.
	Canceled
	// Unsupported: the store does not serve what was asked (gRPC Unimplemented).
	Unsupported
)

var classNames = [...]string{"unknown", "unavailable", "refused", "not ready", "unauthorized", "forbidden", "TLS", "limit",
	"query", "timeout", "canceled", "unsupported"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Retried reports whether a failure of the class may pass if the same request is made again.
func (c Class) Retried() bool { return c == Unavailable || c == Refused }

// Classed is an error that knows its class: the error types of the packages where failures
// happen (tunnels, store clients, limits) implement it.
type Classed interface {
	error
	FailureClass() Class
}

// Classify returns the class of err: that of the outermost Classed error in it; otherwise what
// the Kubernetes API status, the gRPC status or the system error in it says.
func Classify(err error) Class {
	if err == nil {
		return Unknown
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	var ce Classed
	if errors.As(err, &ce) {
		return ce.FailureClass()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	switch {
	case apierrors.IsUnauthorized(err):
		return Unauthorized
	case apierrors.IsForbidden(err):
		return Forbidden
	case apierrors.IsNotFound(err):
		return NotReady
	case apierrors.IsServiceUnavailable(err), apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err):
		return Unavailable
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		if c := FromStatus(se.GRPCStatus()); c != Unknown {
			return c
		}
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Unavailable
	}
	return Unknown
}

// FromStatus classifies a gRPC status. gRPC flattens a transport's failure into the text of an
// Unavailable (or, for a stream cut short, Internal) status, so for those the text is all there
// is to read: a TLS mismatch and a refused dial are told apart from a dropped link by it.
func FromStatus(st *status.Status) Class {
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable, codes.Aborted:
		switch {
		case handshakeProblem(msg):
			return TLS
		case strings.Contains(msg, "connection refused"):
			return Refused
		}
		return Unavailable
	case codes.Internal:
		if cutShort(msg) {
			return Unavailable
		}
		return Unknown
	case codes.DeadlineExceeded:
		return Timeout
	case codes.Canceled:
		return Canceled
	case codes.Unauthenticated:
		return Unauthorized
	case codes.PermissionDenied:
		return Forbidden
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return Query
	case codes.ResourceExhausted:
		return Limit
	case codes.Unimplemented:
		return Unsupported
	}
	return Unknown
}

// Transient reports whether err is a failure that the same request may not meet again (see
// Class.Retried). Errors in the query itself, refusals (RBAC, TLS, InvalidArgument) and the
// query's own deadline or cancellation are final, and so is a failure that already outlasted
// its retries.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var gu *GaveUpError
	if errors.As(err, &gu) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return Classify(err).Retried()
}

// handshakeProblem spots TLS mismatches in a gRPC transport message.
func handshakeProblem(msg string) bool {
	for _, s := range []string{"tls:", "x509:", "authentication handshake failed", "first record does not look like a TLS handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// cutShort spots, in an Internal status, the HTTP/2 stream that a dropped connection ended.
func cutShort(msg string) bool {
	for _, s := range []string{"connection reset", "broken pipe", "unexpected EOF", "error reading from server", "RST_STREAM",
		"connection closed", "transport is closing", "client connection lost"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Error is a failure classified where it happened: what went wrong (knobs and all) and the
// error it came from, if any.
type Error struct {
	Class Class
	Msg   Message
	Err   error
}

// New returns a classified failure; err, when not nil, stays reachable by errors.Is and As.
func New(c Class, msg Message, err error) *Error { return &Error{Class: c, Msg: msg, Err: err} }

func (e *Error) Error() string         { return e.WordIn(Plain) }
func (e *Error) WordIn(w Words) string { return e.Msg.In(w) }
func (e *Error) FailureClass() Class   { return e.Class }
func (e *Error) Unwrap() error         { return e.Err }

// StoreError is a failure at one store, classified and explained where it happened.
type StoreError struct {
	Store string // the store's name, as listings show it
	Kind  string // how the store is read (sidecar, store gateway, ...); "" when not known
	Class Class
	// Msg explains Err, knobs and all; empty when Err says it best itself.
	Msg Message
	Err error
}

func (e *StoreError) Error() string { return e.WordIn(Plain) }

func (e *StoreError) WordIn(w Words) string {
	if e.Msg == "" {
		return "store " + e.Store + ": " + Word(e.Err, w)
	}
	return "store " + e.Store + ": " + e.Msg.In(w)
}

func (e *StoreError) FailureClass() Class { return e.Class }
func (e *StoreError) Unwrap() error       { return e.Err }

// GaveUpError is a transient failure that outlasted the retries.
type GaveUpError struct {
	Attempts int
	Err      error
}

func (e *GaveUpError) Error() string { return e.WordIn(Plain) }

func (e *GaveUpError) WordIn(w Words) string {
	return Word(e.Err, w) + Message(fmt.Sprintf("; still failing after %d attempts ({max-retries} %d): check that store, or use {partial-response} to answer from the others",
		e.Attempts, e.Attempts-1)).In(w)
}

func (e *GaveUpError) FailureClass() Class { return Classify(e.Err) }
func (e *GaveUpError) Unwrap() error       { return e.Err }

// RetriesCutShort is a transient failure whose retries the query's end stopped; Why says how
// it ended.
type RetriesCutShort struct {
	Err      error
	Why      Message
	Attempts int
}

func (e *RetriesCutShort) Error() string { return e.WordIn(Plain) }

func (e *RetriesCutShort) WordIn(w Words) string {
	return fmt.Sprintf("%s; %s while retrying after %d attempts", Word(e.Err, w), e.Why.In(w), e.Attempts)
}

func (e *RetriesCutShort) FailureClass() Class { return Classify(e.Err) }
func (e *RetriesCutShort) Unwrap() error       { return e.Err }

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
