package cmd

import (
	"fmt"
	"time"
)

// flagTimeout is the deadline --timeout puts on a whole query, split parts and retries
// included: the cause of its context's deadline, so that whatever runs out of time under it
// names the flag.
type flagTimeout struct{ d time.Duration }

func (t *flagTimeout) Error() string {
	return fmt.Sprintf("query timed out after %s (--timeout); narrow the query or raise --timeout", t.d)
}
