package cmd

import (
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// flagWords are how the command line changes a knob: by its flag.
var flagWords = failure.Words{
	failure.QueryTimeout:    "--timeout",
	failure.PartialResponse: "--partial-response",
	failure.NoDedup:         "--dedup=false",
	failure.MaxRetries:      "--max-retries",
	failure.ConnectTimeout:  "--connect-timeout",
	failure.StoreTimeout:    "--store-timeout",
	failure.MaxSeries:       "--max-series",
	failure.MaxSamples:      "--max-samples",
	failure.ClientTLS:       "--grpc-client-tls-secure",
}

// flagError is an error as the command line says it: the knobs it names are flags. It unwraps
// to the error itself, so exit codes and callers still see what failed.
type flagError struct{ err error }

func (e *flagError) Error() string { return failure.Word(e.err, flagWords) }
func (e *flagError) Unwrap() error { return e.err }

// inFlags words err for the command line; nil stays nil.
func inFlags(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*flagError); ok {
		return err
	}
	return &flagError{err: err}
}

// warningsIn words connection warnings with w.
func warningsIn(ws []stores.Warning, w failure.Words) []string {
	out := make([]string, len(ws))
	for i, x := range ws {
		out[i] = x.In(w)
	}
	return out
}
