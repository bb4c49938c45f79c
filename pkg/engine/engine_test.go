package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

func TestParseErrorPointsAtThePosition(t *testing.T) {
	for _, tc := range []struct {
		query, msg string
		col        int // 1-based column of the caret on the query's line
	}{
		{`sum(rate(http_requests_total[5m]) by (job)`, "unexpected <by> in aggregation", 35},
		{`up{job="a"`, "unexpected end of input inside braces", 11},
		{"up +\n  foo(bar)", `unknown function with name "foo"`, 3},
	} {
		err := Validate(tc.query)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("%q: want *ParseError, got %v", tc.query, err)
		}
		lines := strings.Split(err.Error(), "\n")
		if !strings.Contains(lines[0], tc.msg) {
			t.Errorf("%q: message %q, want it to contain %q", tc.query, lines[0], tc.msg)
		}
		caret := "  " + strings.Repeat(" ", tc.col-1) + "^"
		if len(lines) != 3 || lines[2] != caret {
			t.Errorf("%q: caret line %q, want %q\n%s", tc.query, lines[len(lines)-1], caret, err)
		}
	}
	if err := Validate(`sum by (job) (rate(x[5m]))`); err != nil {
		t.Fatalf("valid query rejected: %v", err)
	}
}

func TestEngineLimitsAreExplained(t *testing.T) {
	e := New(Options{MaxSamples: 1})
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })
	// A range query over a constant needs more than one sample.
	_, err := e.Range(context.Background(), q, `vector(1)`, time.Unix(0, 0), time.Unix(600, 0), time.Minute)
	if err == nil || !strings.Contains(failure.Word(err, failure.Words{failure.MaxSamples: "--max-samples"}), "--max-samples") || failure.Classify(err) != failure.Limit {
		t.Fatalf("got %v", err)
	}
	var tooMany promql.ErrTooManySamples
	if errors.As(err, &tooMany) {
		t.Fatal("the engine's bare error leaked through")
	}
}

// A result must stay as it was after later queries ran: the engine recycles the memory of a
// closed query's points.
func TestResultOutlivesLaterQueries(t *testing.T) {
	e := New(Options{})
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })
	start, end := time.Unix(0, 0), time.Unix(3600, 0)
	res, err := e.Range(context.Background(), q, `vector(time())`, start, end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := e.Range(context.Background(), q, `vector(-time())`, start, end, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	m := res.Value.(promql.Matrix)
	if len(m) != 1 || len(m[0].Floats) != 61 {
		t.Fatalf("result %v", m)
	}
	for _, p := range m[0].Floats {
		if p.F != float64(p.T/1000) {
			t.Fatalf("point at %d holds %v: overwritten by a later query", p.T, p.F)
		}
	}
}
