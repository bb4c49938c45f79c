// Package engine evaluates PromQL locally with the Prometheus engine, configured as a Thanos
// Querier configures it, over any storage.Queryable.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
)

// Options mirror the Querier's query flags.
type Options struct {
	LookbackDelta time.Duration // 0 = PromQL's default, 5m
	Timeout       time.Duration // 0 = 2m
	MaxSamples    int           // 0 = 50,000,000, Prometheus's default
	// SubqueryStep is used for subqueries without a step, the Querier's
	// --query.default-evaluation-interval.
	SubqueryStep time.Duration
}

// Engine wraps promql.Engine.
type Engine struct {
	eng  *promql.Engine
	opts Options
}

// New returns an engine with the Querier's semantics: @ and negative offsets on.
func New(o Options) *Engine {
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = 50_000_000
	}
	if o.SubqueryStep == 0 {
		o.SubqueryStep = time.Minute
	}
	step := o.SubqueryStep.Milliseconds()
	return &Engine{opts: o, eng: promql.NewEngine(promql.EngineOpts{
		MaxSamples:               o.MaxSamples,
		Timeout:                  o.Timeout,
		LookbackDelta:            o.LookbackDelta,
		NoStepSubqueryIntervalFn: func(int64) int64 { return step },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
	})}
}

// Result is an evaluated query.
type Result struct {
	Value    parser.Value
	Warnings annotations.Annotations
	// Samples is how many samples the evaluation loaded, as the engine counts them for
	// --max-samples: the measure of work the slow-query log reports.
	Samples int64
}

// Options returns the options the engine runs with, defaults filled in: what, besides the
// stores, shapes its answers.
func (e *Engine) Options() Options { return e.opts }

// Validate parses qs and returns a *ParseError pointing at the position of the problem, or a
// *LimitError, without parsing, for a query the limits refuse.
func Validate(qs string) error {
	if err := CheckLimits(qs); err != nil {
		return err
	}
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(qs); err != nil {
		return newParseError(qs, err)
	}
	return nil
}

// Instant evaluates qs at ts.
func (e *Engine) Instant(ctx context.Context, q storage.Queryable, qs string, ts time.Time) (*Result, error) {
	if err := CheckLimits(qs); err != nil {
		return nil, err
	}
	qry, err := e.eng.NewInstantQuery(ctx, q, nil, qs, ts)
	if err != nil {
		return nil, newParseError(qs, err)
	}
	return e.exec(ctx, qry)
}

// Range evaluates qs from start to end every step.
func (e *Engine) Range(ctx context.Context, q storage.Queryable, qs string, start, end time.Time, step time.Duration) (*Result, error) {
	if err := CheckLimits(qs); err != nil {
		return nil, err
	}
	qry, err := e.eng.NewRangeQuery(ctx, q, nil, qs, start, end, step)
	if err != nil {
		return nil, newParseError(qs, err)
	}
	return e.exec(ctx, qry)
}

func (e *Engine) exec(ctx context.Context, qry promql.Query) (*Result, error) {
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, e.explain(ctx, res.Err)
	}
	out := &Result{Value: detach(res.Value), Warnings: res.Warnings}
	if st := qry.Stats(); st != nil && st.Samples != nil {
		out.Samples = st.Samples.TotalSamples
	}
	return out, nil
}

// detach copies the parts of a result that the engine takes back into its pools when the query
// is closed: without the copy, the next query to run reuses them and overwrites a result that is
// still being printed or served.
func detach(v parser.Value) parser.Value {
	switch v := v.(type) {
	case promql.Matrix:
		out := make(promql.Matrix, len(v))
		for i, s := range v {
			out[i] = s
			out[i].Floats = slices.Clone(s.Floats)
			if s.Histograms != nil {
				out[i].Histograms = make([]promql.HPoint, len(s.Histograms))
				for j, p := range s.Histograms {
					out[i].Histograms[j] = promql.HPoint{T: p.T, H: p.H.Copy()}
				}
			}
		}
		return out
	case promql.Vector:
		out := slices.Clone(v)
		for i := range out {
			if out[i].H != nil {
				out[i].H = out[i].H.Copy()
			}
		}
		return out
	}
	return v
}

// explain turns the engine's terse errors into ones that say what to do.
func (e *Engine) explain(ctx context.Context, err error) error {
	if ended := e.ended(ctx, err); ended != nil {
		return ended
	}
	var (
		tooMany promql.ErrTooManySamples
		timeout promql.ErrQueryTimeout
		cancel  promql.ErrQueryCanceled
	)
	switch {
	case errors.As(err, &tooMany):
		return failure.New(failure.Limit, failure.Message(fmt.Sprintf("query would load more than %d samples into memory ({max-samples}); narrow the selectors or the time range, or raise {max-samples}", e.opts.MaxSamples)), nil)
	case errors.As(err, &timeout) || errors.Is(err, context.DeadlineExceeded):
		return &TimeoutError{Timeout: e.opts.Timeout, err: err}
	case errors.As(err, &cancel) || errors.Is(err, context.Canceled):
		return &CanceledError{err: err}
	}
	return err
}

// ParseError is an invalid query with the position of the problem.
type ParseError struct {
	Query string
	Pos   int // byte offset into Query; -1 when unknown
	Msg   string
}

func newParseError(qs string, err error) error {
	var perrs parser.ParseErrors
	if errors.As(err, &perrs) && len(perrs) > 0 {
		p := perrs[0]
		return &ParseError{Query: qs, Pos: int(p.PositionRange.Start), Msg: p.Err.Error()}
	}
	var perr *parser.ParseErr
	if errors.As(err, &perr) {
		return &ParseError{Query: qs, Pos: int(perr.PositionRange.Start), Msg: perr.Err.Error()}
	}
	return err
}

// Error renders the query with a caret under the offending position, like a compiler.
func (e *ParseError) Error() string {
	if e.Pos < 0 || e.Pos > len(e.Query) {
		return "invalid query: " + e.Msg
	}
	line, col, text := locate(e.Query, e.Pos)
	var b strings.Builder
	fmt.Fprintf(&b, "invalid query: %s (line %d, column %d)\n", e.Msg, line, col)
	b.WriteString("  " + text + "\n")
	b.WriteString("  " + strings.Repeat(" ", col-1) + "^")
	return b.String()
}

// locate returns the 1-based line and column of byte offset pos and the text of that line.
func locate(q string, pos int) (line, col int, text string) {
	start := strings.LastIndexByte(q[:pos], '\n') + 1
	end := strings.IndexByte(q[pos:], '\n')
	if end < 0 {
		end = len(q)
	} else {
		end += pos
	}
	line = strings.Count(q[:pos], "\n") + 1
	col = len([]rune(q[start:pos])) + 1
	return line, col, q[start:end]
}
