package cmd

import (
	"errors"
	"fmt"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
)

// UsageError is a mistake in the command line; it exits with status 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ExitCode maps an error to the process exit status: 2 for bad input (flags, PromQL, a query over
// the size limits), 1 for
// everything else.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var (
		ue *UsageError
		pe *engine.ParseError
		le *engine.LimitError
	)
	if errors.As(err, &ue) || errors.As(err, &pe) || errors.As(err, &le) {
		return 2
	}
	return 1
}
