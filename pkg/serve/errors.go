package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// errorType is the API's errorType field; each has the status code Prometheus answers with.
type errorType string

const (
	errBadData     errorType = "bad_data"
	errExec        errorType = "execution"
	errTimeout     errorType = "timeout"
	errCanceled    errorType = "canceled"
	errUnavailable errorType = "unavailable"
	errInternal    errorType = "internal"
)

// Prometheus answers a request its client abandoned with nginx's "client closed request".
const statusClientClosedRequest = 499

func (t errorType) code() int {
	switch t {
	case errBadData:
		return http.StatusBadRequest
	case errExec:
		return http.StatusUnprocessableEntity
	case errTimeout, errUnavailable:
		return http.StatusServiceUnavailable
	case errCanceled:
		return statusClientClosedRequest
	}
	return http.StatusInternalServerError
}

type apiError struct {
	typ errorType
	err error
	// status replaces the type's status code where HTTP has a more precise one (403, 405).
	status int
}

func badData(format string, args ...any) *apiError {
	return &apiError{typ: errBadData, err: fmt.Errorf(format, args...)}
}

func badParam(name string, err error) *apiError {
	return badData("invalid parameter %q: %w", name, err)
}

// classify picks the error type of a failed evaluation or metadata call of the request whose
// context is ctx. Stores that cannot be reached are the server's trouble, not the query's: 503,
// so that clients such as Grafana retry instead of showing the query as wrong.
func classify(ctx context.Context, err error) *apiError {
	// Once the request's context has ended, that is what happened, whatever the error it caused
	// looks like (a store's read cut short, a retry given up): its cause says which limit it was.
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &apiError{typ: errTimeout, err: context.Cause(ctx)}
		}
		return &apiError{typ: errCanceled, err: errors.New("request cancelled: the client went away or the server is shutting down")}
	}
	var (
		pe      *engine.ParseError
		le      *engine.LimitError
		te      *engine.TimeoutError
		timeout promql.ErrQueryTimeout
		cancel  promql.ErrQueryCanceled
	)
	switch {
	case errors.As(err, &le):
		return badParam("query", le)
	case errors.As(err, &pe):
		return &apiError{typ: errBadData, err: fmt.Errorf("invalid parameter %q: %s", "query", pe.Msg)}
	case errors.As(err, &te) && te.Cause == nil:
		// The engine's own limit is the server's --timeout.
		return &apiError{typ: errTimeout, err: &requestTimeout{d: te.Timeout}}
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{typ: errTimeout, err: err}
	case errors.As(err, &cancel), errors.Is(err, context.Canceled):
		return &apiError{typ: errCanceled, err: err}
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return &apiError{typ: errUnavailable, err: err}
	case codes.DeadlineExceeded:
		return &apiError{typ: errTimeout, err: err}
	case codes.Canceled:
		return &apiError{typ: errCanceled, err: err}
	}
	return &apiError{typ: errExec, err: err}
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}{"error", string(e.typ), failure.Word(e.err, Words)})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	code := e.typ.code()
	if e.status != 0 {
		code = e.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
