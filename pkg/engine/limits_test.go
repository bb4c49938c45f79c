package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"
)

func TestCheckLimitsAcceptsRealQueries(t *testing.T) {
	for _, q := range []string{
		`sum by (cluster) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (cluster) (rate(http_requests_total[5m]))`,
		`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > bool -1`,
		`max_over_time(rate(x[5m])[1h:1m] offset -5m) @ end()`,
		`-(-(-up)) * 1e-5 and on (job) group_left (instance) -up unless up or up atan2 up`,
		// At the limits exactly.
		strings.Repeat("(", MaxQueryDepth) + "1" + strings.Repeat(")", MaxQueryDepth),
		strings.Repeat("-", MaxQueryDepth) + "1",
		strings.Repeat("-1 - ", MaxQueryOperators) + "1",
		strings.Repeat(" ", MaxQueryBytes-2) + "up",
		// Signs end with their operand, so many in a row at one level do not add up.
		strings.Repeat("-up, ", 1000) + "up",
		// Brackets inside strings and comments are not nesting, nor matchers operators.
		`up{path="` + strings.Repeat("((((", 100) + `", x!~'` + strings.Repeat("[{", 200) + `'} # ` + strings.Repeat("(", 500) + "\n + 1",
		"label_replace(up, `a`, `" + strings.Repeat("(", 300) + "`, \"b\\\"(((\", \"c\")",
		"up{" + strings.Repeat(`a="b",`, 2000) + "}",
	} {
		if err := CheckLimits(q); err != nil {
			t.Errorf("%.80q: %v", q, err)
		}
	}
}

func TestCheckLimitsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, q string
		kind    LimitKind
		msg     string
	}{
		{"long", strings.Repeat(" ", MaxQueryBytes) + "up", LimitLength, "the limit is 131072 bytes (128 KiB)"},
		{"parentheses", strings.Repeat("(", MaxQueryDepth+1) + "1" + strings.Repeat(")", MaxQueryDepth+1), LimitDepth, "the limit is 256 levels"},
		{"30,000 parentheses", strings.Repeat("(", 30_000) + "1" + strings.Repeat(")", 30_000), LimitDepth, "the limit is 256 levels"},
		{"100,000 parentheses", strings.Repeat("(", 100_000) + "1" + strings.Repeat(")", 100_000), LimitLength, "query is 200001 bytes long"},
		{"brackets", "x" + strings.Repeat("[", MaxQueryDepth+1), LimitDepth, "more than 256 levels deep"},
		{"signs", strings.Repeat("-", MaxQueryDepth+1) + "1", LimitDepth, "the limit is 256 levels"},
		{"signs and parentheses", strings.Repeat("-(", MaxQueryDepth/2+1) + "1", LimitDepth, "at byte 256"},
		{"operators", strings.Repeat("up + ", MaxQueryOperators+1) + "up", LimitOperators, "the limit is 1024 operators"},
		{"keyword operators", strings.Repeat("up or ", MaxQueryOperators/2) + strings.Repeat("up and ", MaxQueryOperators/2+1) + "up", LimitOperators, "more than 1024 binary operators"},
		{"comparisons", strings.Repeat("up >= ", MaxQueryOperators+1) + "up", LimitOperators, "the limit is 1024 operators"},
		// Closing brackets that open nothing must not make room for more.
		{"unbalanced", strings.Repeat(")", 1000) + strings.Repeat("(", MaxQueryDepth+1), LimitDepth, "the limit is 256 levels"},
	} {
		err := CheckLimits(tc.q)
		var le *LimitError
		if !errors.As(err, &le) || le.Kind != tc.kind || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want a limit error saying %q", tc.name, err, tc.msg)
		}
	}
}

// The engine refuses what the limits refuse before parsing, whichever way a query comes in.
func TestEngineChecksLimits(t *testing.T) {
	deep := strings.Repeat("(", 100_000) + "1" + strings.Repeat(")", 100_000)
	var le *LimitError
	if err := Validate(deep); !errors.As(err, &le) {
		t.Errorf("Validate: %v", err)
	}
	e := New(Options{})
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })
	if _, err := e.Instant(context.Background(), q, deep, time.Unix(0, 0)); !errors.As(err, &le) {
		t.Errorf("Instant: %v", err)
	}
	if _, err := e.Range(context.Background(), q, deep, time.Unix(0, 0), time.Unix(60, 0), time.Minute); !errors.As(err, &le) {
		t.Errorf("Range: %v", err)
	}
}
