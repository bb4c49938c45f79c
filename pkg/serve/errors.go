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
}

func badData(format string, args ...any) *apiError {
	return &apiError{errBadData, fmt.Errorf(format, args...)}
}

func badParam(name string, err error) *apiError {
	return badData("invalid parameter %q: %w", name, err)
}

// classify picks the error type of a failed evaluation or metadata call. Stores that cannot be
// reached are the server's trouble, not the query's: 503, so that clients such as Grafana retry
// instead of showing the query as wrong.
func classify(err error) *apiError {
	var (
		pe      *engine.ParseError
		timeout promql.ErrQueryTimeout
		cancel  promql.ErrQueryCanceled
	)
	switch {
	case errors.As(err, &pe):
		return &apiError{errBadData, fmt.Errorf("invalid parameter %q: %s", "query", pe.Msg)}
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{errTimeout, err}
	case errors.As(err, &cancel), errors.Is(err, context.Canceled):
		return &apiError{errCanceled, err}
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return &apiError{errUnavailable, err}
	case codes.DeadlineExceeded:
		return &apiError{errTimeout, err}
	case codes.Canceled:
		return &apiError{errCanceled, err}
	}
	return &apiError{errExec, err}
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}{"error", string(e.typ), e.err.Error()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.typ.code())
	w.Write(append(body, '\n'))
}
