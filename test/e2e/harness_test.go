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
	"time"

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

// unsplit has our range queries (of query and serve alike) evaluated whole, as the Querier evaluates them, for tests that
// compare with it. Split at the default 24h, a range over midnight differs where the penalty
// dedup's choice depends on where the data read starts, exactly as the Querier's answers do
// behind a Query Frontend; TestSplitEqualsUnsplit compares splitting with the Querier over the
// same parts.
const unsplit = "--split-interval=0"

// runOurs is ours for a test's own goroutine: no answer at all stops the test, and an error or
// warning in it that shows internals fails it.
func runOurs(t testing.TB, stores []*fanout.Store, args []string) *apiResponse {
	t.Helper()
	r, err := ours(stores, io.Discard, args...)
	if err != nil {
		t.Fatal(err)
	}
	noInternals(t, "error", r.Error)
	for _, w := range r.Warnings {
		noInternals(t, "warning", w)
	}
	return r
}

// runCLI runs the command line in process, as kubectl would run the plugin, and returns what it
// printed and its error. Whatever it tells the user, the error and every line on stderr, must
// not show internals: every fault case that runs the command is checked for that here.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(args)
	root.SetOut(&out) // where cobra itself prints, as completions
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil {
		noInternals(t, "error", err.Error())
	}
	for _, l := range strings.Split(errOut.String(), "\n") {
		noInternals(t, "line on stderr", l)
	}
	return out.String(), errOut.String(), err
}

// noInternals fails t when text, shown to the user as what, holds gRPC's own wording, a Go
// type name, a panic or a broken format verb.
func noInternals(t testing.TB, what, text string) {
	t.Helper()
	if m := rawText.FindString(text); m != "" {
		t.Errorf("the %s shows internals (%q): %s", what, m, text)
	}
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
