package cmd

import (
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// internals is what no user-facing text may show: gRPC's own wording, Go type names, broken
// format verbs.
var internals = regexp.MustCompile(`rpc error:|\*[a-z][a-z0-9]*\.[A-Za-z_]|&[a-z][a-z0-9]*\.[A-Z]|%!`)

// cliFlag is a command-line flag not spoken as part of "serve --flag".
var cliFlag = regexp.MustCompile(`(^|[^e] )--[a-z]`)

// Each class of failure, made by the code where it happens, is told on the command line with
// flags and by serve with the API's parameters (or, for what only its operator can change, the
// serve command's flags), and neither shows internals.
func TestEveryClassWordedAtEachEdge(t *testing.T) {
	sidecar := func(err error) error { return storeapi.Failed("eu/prometheus-0", string(discovery.Sidecar), err) }
	pods := schema.GroupResource{Resource: "pods"}
	for _, tc := range []struct {
		class    failure.Class
		err      error
		cli, api []string // what each wording must say
	}{
		{failure.Unavailable, &failure.GaveUpError{Attempts: 6, Err: sidecar(status.Error(codes.Unavailable, "error reading from server: EOF"))},
			[]string{"store eu/prometheus-0:", "6 attempts (--max-retries 5)", "use --partial-response"},
			[]string{"store eu/prometheus-0:", "6 attempts (serve --max-retries 5)", "use partial_response=true"}},
		{failure.Unavailable, sidecar(&tunnel.Error{Target: "eu/prometheus-0", Port: 10901, Err: syscall.ECONNRESET}),
			[]string{"port-forward to eu/prometheus-0 port 10901"}, []string{"port-forward to eu/prometheus-0 port 10901"}},
		{failure.Refused, sidecar(status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: error forwarding port 10901 to pod p-0, uid : failed to dial 127.0.0.1:1: connect: connection refused"`)),
			[]string{"nothing listens on port 10901"}, []string{"nothing listens on port 10901"}},
		{failure.NotReady, connect.Failure{Name: "eu/prometheus-0", Kind: discovery.Sidecar, Err: apierrors.NewNotFound(pods, "prometheus-0")},
			[]string{"store eu/prometheus-0:", "not found"}, []string{"store eu/prometheus-0:", "not found"}},
		{failure.Unauthorized, connect.Failure{Name: "eu/prometheus-0", Err: apierrors.NewUnauthorized("token expired")},
			[]string{"token expired"}, []string{"token expired"}},
		{failure.Forbidden, sidecar(status.Error(codes.PermissionDenied, "client certificate required")),
			[]string{"refused access", "--grpc-client-tls-secure"}, []string{"refused access", "serve --grpc-client-tls-secure"}},
		{failure.TLS, sidecar(status.Error(codes.Unavailable, "connection error: desc = \"transport: authentication handshake failed: x509: certificate signed by unknown authority\"")),
			[]string{"TLS handshake failed", "--grpc-client-tls-secure"}, []string{"TLS handshake failed", "serve --grpc-client-tls-secure"}},
		{failure.Limit, &fanout.SeriesLimitError{Limit: 10}, []string{"(--max-series)", "raise --max-series"}, []string{"(serve --max-series)", "raise serve --max-series"}},
		{failure.Query, sidecar(status.Error(codes.InvalidArgument, "bad matcher")), []string{"rejected the request: bad matcher"}, []string{"rejected the request: bad matcher"}},
		{failure.Timeout, &connect.ConnectTimeoutError{D: 5 * time.Second}, []string{"within 5s (--connect-timeout)"}, []string{"within 5s (serve --connect-timeout)"}},
		{failure.Timeout, &engine.TimeoutError{Timeout: 2 * time.Minute}, []string{"after 2m0s (--timeout)", "raise --timeout"},
			[]string{"after 2m0s (the timeout parameter)", "raise the timeout parameter"}},
		{failure.Timeout, sidecar(status.Error(codes.DeadlineExceeded, "deadline")), []string{"raise --timeout"}, []string{"raise the timeout parameter"}},
		{failure.Canceled, sidecar(context.Canceled), []string{"cancelled"}, []string{"cancelled"}},
		{failure.Unsupported, sidecar(status.Error(codes.Unimplemented, "thanos.Store/Info")),
			[]string{"does not implement thanos.Store/Info"}, []string{"does not implement thanos.Store/Info"}},
	} {
		if got := failure.Classify(tc.err); got != tc.class {
			t.Errorf("%v: class %s, want %s", tc.err, got, tc.class)
		}
		cli, api := inFlags(tc.err).Error(), failure.Word(tc.err, serve.Words)
		for _, w := range tc.cli {
			if !strings.Contains(cli, w) {
				t.Errorf("%s: command line %q lacks %q", tc.class, cli, w)
			}
		}
		for _, w := range tc.api {
			if !strings.Contains(api, w) {
				t.Errorf("%s: serve %q lacks %q", tc.class, api, w)
			}
		}
		for _, s := range []string{cli, api} {
			if m := internals.FindString(s); m != "" {
				t.Errorf("%s: %q shows %q", tc.class, s, m)
			}
		}
		if m := cliFlag.FindString(api); m != "" {
			t.Errorf("%s: serve tells its client a command-line flag: %q", tc.class, api)
		}
		if plain := tc.err.Error(); strings.Contains(plain, "--") || strings.Contains(plain, "_response") {
			t.Errorf("%s: the error itself names a flag or parameter: %q", tc.class, plain)
		}
	}
}

// Errors wrapped on their way up are worded where they sit: the wrapping text stays, the knobs
// inside are the edge's.
func TestWrappedErrorsWordedInPlace(t *testing.T) {
	inner := &connect.ConnectTimeoutError{D: time.Second}
	both := failure.Join(storeapi.Failed("a", "", inner), storeapi.Failed("b", "", &fanout.SeriesLimitError{Limit: 1}))
	err := &wrapped{"connecting: ", both}
	got := inFlags(err).Error()
	want := "connecting: store a: no answer to Info within 1s (--connect-timeout): check that the store is up and reachable, or raise --connect-timeout on a slow link\n" +
		"store b: the query reads more than 1 series from the stores (--max-series): narrow its selectors with label matchers or a shorter range, or raise --max-series"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A store's own text reads as it was sent, braces and all.
	sel := storeapi.Failed("a", "", status.Error(codes.InvalidArgument, `bad matcher {job="x"} {timeout} {{`))
	if got := failure.Word(sel, serve.Words); got != `store a: rejected the request: bad matcher {job="x"} {timeout} {{` {
		t.Errorf("got %q", got)
	}
}

type wrapped struct {
	prefix string
	err    error
}

func (w *wrapped) Error() string { return w.prefix + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
