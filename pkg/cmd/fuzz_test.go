package cmd

import (
	"testing"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
)

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
