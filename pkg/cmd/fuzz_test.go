package cmd

import (
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
)

// User text never panics: it parses or gets an error.
func FuzzTimeAndDuration(f *testing.F) {
	for _, s := range []string{"now", "1700000000.5", "2024-05-01T12:00:00Z", "1h30m", "1e300", "-1", "NaN", "+Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTime(s, time.Unix(0, 0))
		_, _ = parseDuration(s)
	})
}

func FuzzQueryValidation(f *testing.F) {
	for _, s := range []string{"up", "sum(rate(x[5m])) by (job)", "up{", "a @ start()", "{__name__=~\".+\"}[5m:1m]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := engine.Validate(s)
		if err != nil {
			_ = err.Error() // the caret rendering must cope with any position
		}
	})
}

func FuzzSplitForCompletion(f *testing.F) {
	f.Add(`sum by (job) (rate(http_requests_total{code="5`)
	f.Fuzz(func(t *testing.T, s string) {
		head, word, _ := splitForCompletion(s)
		if head+word != s {
			t.Fatalf("split %q into %q + %q", s, head, word)
		}
	})
}
