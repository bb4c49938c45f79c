package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// ours runs one query through the command's own code path (flags, Complete, Validate, Execute)
// over stores already connected, with what the command says besides its answer going to stderr.
// A failed query comes back as the API would give it: refused before evaluation is bad_data,
// failed while evaluating is execution. The error is for what is no answer at all: flags the
// command refuses, or output that is not the JSON asked for.
func ours(stores []*fanout.Store, stderr io.Writer, args ...string) (*apiResponse, error) {
	var stdout bytes.Buffer
	o := cmd.NewQueryOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: stderr})
	fs := cmd.QueryFlagSet(o)
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if err := o.Complete(args[:1]); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		if perr := (*engine.ParseError)(nil); errors.As(err, &perr) {
			return &apiResponse{Status: "error", ErrorType: errorBadData, Error: err.Error()}, nil
		}
		return nil, err
	}
	if err := o.Execute(context.Background(), stores, nil); err != nil {
		typ := errorExecution
		// The engine refuses these when the query is created, which the API reports as bad data.
		if perr := (*engine.ParseError)(nil); errors.As(err, &perr) || strings.HasPrefix(err.Error(), "invalid expression type") {
			typ = errorBadData
		}
		return &apiResponse{Status: "error", ErrorType: typ, Error: err.Error()}, nil
	}
	return parseAnswer(stdout.Bytes())
}

// runOurs is ours for a test's own goroutine: no answer at all stops the test.
func runOurs(t testing.TB, stores []*fanout.Store, args []string) *apiResponse {
	t.Helper()
	r, err := ours(stores, io.Discard, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// answerOrError folds ours's error into an error answer, for a test that only looks at the
// answer's error text.
func answerOrError(r *apiResponse, err error) *apiResponse {
	if err != nil {
		return &apiResponse{Status: "error", Error: err.Error()}
	}
	return r
}

// parseAnswer reads our -o json output, the Prometheus API's response body.
func parseAnswer(b []byte) (*apiResponse, error) {
	var r apiResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("our answer %q: %w", b, err)
	}
	return &r, nil
}
