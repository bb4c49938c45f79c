package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// QueryOptions run one PromQL query, instant or range.
type QueryOptions struct {
	*StoreOptions
	FrontendOptions

	Query                  string
	Time, Start, End, Step string
	Since                  time.Duration
	EngineFlags
	Output string
	PNG    string

	isRange        bool
	ts, start, end time.Time
	step           time.Duration
	now            func() time.Time
}

// NewQueryOptions returns defaults.
func NewQueryOptions(streams genericiooptions.IOStreams) *QueryOptions {
	return &QueryOptions{StoreOptions: NewStoreOptions(streams), FrontendOptions: newFrontendOptions(), Output: "table", EngineFlags: newEngineFlags(), now: time.Now}
}

// QueryFlagSet returns every flag of the query command bound to o, for driving the command's
// options without cobra.
func QueryFlagSet(o *QueryOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("kubectl-globalquery", pflag.ContinueOnError)
	o.AddFlags(fs)
	o.addQueryFlags(fs)
	return fs
}

func (o *QueryOptions) addQueryFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Time, "time", "", "Evaluation time of an instant query: RFC 3339 or Unix seconds (default now)")
	fs.StringVar(&o.Start, "start", "", "Start of a range query: RFC 3339 or Unix seconds")
	fs.StringVar(&o.End, "end", "", "End of a range query (default now)")
	fs.StringVar(&o.Step, "step", "", "Resolution of a range query: a duration or seconds (default: range/250, at least 1s)")
	fs.DurationVar(&o.Since, "since", 0, "Range query over the last duration, e.g. 1h (instead of --start/--end)")
	o.EngineFlags.addFlags(fs, "Maximum time to evaluate the query")
	fs.StringVarP(&o.Output, "output", "o", o.Output, "Output format: "+strings.Join(output.Formats(), "|")+" (graph for range queries)")
	fs.StringVar(&o.PNG, "png", "", "Also draw a range query's result as a PNG chart into this file")
	o.FrontendOptions.addFlags(fs)
}

// Complete fills in what follows from the arguments.
func (o *QueryOptions) Complete(args []string) error {
	if len(args) != 1 {
		return usageError("expected exactly one PromQL query argument, got %d: quote the query, e.g. kubectl globalquery 'sum by (job) (up)'", len(args))
	}
	o.Query = args[0]
	return nil
}

// Validate checks the query and the flags before any connection is opened.
func (o *QueryOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := engine.Validate(o.Query); err != nil {
		return err
	}
	if err := o.FrontendOptions.validate(); err != nil {
		return err
	}
	if !slices.Contains(output.Formats(), o.Output) {
		return usageError("--output %q: want one of %s", o.Output, strings.Join(output.Formats(), ", "))
	}
	if err := o.EngineFlags.validate(); err != nil {
		return err
	}
	now := o.now()
	if o.Since < 0 {
		return usageError("--since %s: want a positive duration, e.g. --since 1h for the last hour", o.Since)
	}
	rangeFlags := o.Start != "" || o.End != "" || o.Step != "" || o.Since > 0
	if o.PNG != "" && !rangeFlags {
		return usageError("--png draws a range query: add --since or --start/--end")
	}
	if o.Time != "" && rangeFlags {
		return usageError("--time is for instant queries and cannot be combined with --start, --end, --step or --since")
	}
	if o.Since > 0 && (o.Start != "" || o.End != "") {
		return usageError("--since cannot be combined with --start or --end")
	}
	if !rangeFlags {
		o.ts = now
		if o.Time != "" {
			t, err := timeparse.Time(o.Time, now)
			if err != nil {
				return usageError("--time: %v", err)
			}
			o.ts = t
		}
		return nil
	}
	o.isRange = true
	o.end = now
	if o.End != "" {
		t, err := timeparse.Time(o.End, now)
		if err != nil {
			return usageError("--end: %v", err)
		}
		o.end = t
	}
	switch {
	case o.Since > 0:
		o.start = o.end.Add(-o.Since)
	case o.Start != "":
		t, err := timeparse.Time(o.Start, now)
		if err != nil {
			return usageError("--start: %v", err)
		}
		o.start = t
	default:
		return usageError("a range query needs --start or --since")
	}
	if o.end.Before(o.start) {
		return usageError("--end is before --start")
	}
	if o.Step != "" {
		d, err := timeparse.Duration(o.Step)
		if err != nil {
			return usageError("--step: %v", err)
		}
		if d <= 0 {
			return usageError("--step must be positive")
		}
		o.step = d
	} else {
		o.step = max(time.Second, o.end.Sub(o.start)/250).Truncate(time.Second)
	}
	if err := timeparse.CheckPoints(o.start, o.end, o.step); err != nil {
		return usageError("--step %v", err)
	}
	return nil
}

// Run connects, evaluates and prints.
func (o *QueryOptions) Run(ctx context.Context) error {
	return o.RunOver(ctx, o.Execute)
}

// Execute evaluates the query over stores that are already connected and prints the result;
// warnings from connecting go into the JSON answer as the API would carry them.
func (o *QueryOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	eng := engine.New(o.engineOptions())
	fe, closeLog, err := o.FrontendOptions.build(eng, o.ErrOut, nil)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, cancel := context.WithTimeoutCause(ctx, o.EvalTimeout, &flagTimeout{o.EvalTimeout})
	defer cancel()
	req := frontend.Request{Query: o.Query, Stores: stores, Fanout: o.FanoutOptions()}
	var res *engine.Result
	if o.isRange {
		req.Start, req.End, req.Step = o.start, o.end, o.step
		res, err = fe.Range(ctx, req)
	} else {
		req.Start = o.ts
		res, err = fe.Instant(ctx, req)
	}
	if err != nil {
		return inFlags(err)
	}
	res.Warnings = failure.WordAnnotations(res.Warnings, flagWords)
	opts := output.Options{
		Format:        o.Output,
		ReplicaLabels: o.replicaLabels(),
		Deduplicated:  o.Dedup && len(o.replicaLabels()) > 0,
		Sources:       sourcesOf(stores),
		Query:         o.Query,
	}
	opts.Color, opts.Width = terminal(o.Out)
	if !output.WarningsInline(o.Output) {
		warns, infos := res.Warnings.AsStrings(o.Query, 10, 10)
		printWarnings(o.ErrOut, warns)
		for _, i := range infos {
			fmt.Fprintln(o.ErrOut, "Info:", i)
		}
	}
	err = output.Write(o.Out, res.Value, res.Warnings, warnings, opts)
	if errors.Is(err, output.ErrGraphNeedsRange) {
		fmt.Fprintln(o.ErrOut, "Note:", err)
		err = nil
	}
	if err != nil || o.PNG == "" {
		return err
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return fmt.Errorf("--png: the result is a %s, not a range of series", res.Value.Type())
	}
	if err := output.WritePNG(o.PNG, m, opts); err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	fmt.Fprintln(o.ErrOut, "Wrote", o.PNG)
	return nil
}
