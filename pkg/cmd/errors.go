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

// ExitCode maps an error to the process exit status: 2 for bad input (flags, PromQL), 1 for
// everything else.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	var pe *engine.ParseError
	if errors.As(err, &ue) || errors.As(err, &pe) {
		return 2
	}
	return 1
}
