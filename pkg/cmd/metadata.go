package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

type metadataKind int

const (
	kindSeries metadataKind = iota
	kindLabels
	kindLabelValues
)

// MetadataOptions serve `series`, `labels` and `label-values`, the counterparts of
// /api/v1/series, /api/v1/labels and /api/v1/label/<name>/values.
type MetadataOptions struct {
	*StoreOptions
	kind       metadataKind
	Matches    []string
	Label      string
	Start, End string
	Limit      int
	Output     string

	matchers   [][]*labels.Matcher
	start, end time.Time
}

func newMetadataCommand(so *StoreOptions, kind metadataKind) *cobra.Command {
	o := &MetadataOptions{StoreOptions: so, kind: kind, Output: "table"}
	cmd := &cobra.Command{SilenceUsage: true}
	switch kind {
	case kindSeries:
		cmd.Use = "series SELECTOR..."
		cmd.Short = "List the series that match selectors, like /api/v1/series"
		cmd.Example = `  kubectl globalquery series 'up{job="api"}' --since 1h
  kubectl globalquery series '{__name__=~"http_.*"}' -o json`
		cmd.Args = cobra.MinimumNArgs(1)
	case kindLabels:
		cmd.Use = "labels"
		cmd.Short = "List label names, like /api/v1/labels"
		cmd.Example = `  kubectl globalquery labels
  kubectl globalquery labels --match 'up{job="api"}'`
		cmd.Args = cobra.NoArgs
	case kindLabelValues:
		cmd.Use = "label-values NAME"
		cmd.Short = "List the values of a label, like /api/v1/label/<name>/values"
		cmd.Example = `  kubectl globalquery label-values cluster
  kubectl globalquery label-values job --match 'up == 0'`
		cmd.Args = cobra.ExactArgs(1)
	}
	since := time.Duration(0)
	cmd.Flags().StringVar(&o.Start, "start", "", "Start of the time range: RFC 3339 or Unix seconds (default: no bound)")
	cmd.Flags().StringVar(&o.End, "end", "", "End of the time range (default: no bound)")
	cmd.Flags().DurationVar(&since, "since", 0, "Only the last duration, e.g. 1h (instead of --start/--end)")
	cmd.Flags().IntVar(&o.Limit, "limit", 0, "Return at most this many entries (0: all)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: table or json")
	if kind != kindSeries {
		cmd.Flags().StringArrayVar(&o.Matches, "match", nil, "Only from series matching this selector; repeatable")
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if since < 0 {
			return usageError("--since %s: want a positive duration, e.g. --since 1h for the last hour", since)
		}
		if since > 0 {
			if o.Start != "" || o.End != "" {
				return usageError("--since cannot be combined with --start or --end")
			}
			o.Start = fmt.Sprint(time.Now().Add(-since).Unix())
		}
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(c.Context())
	}
	return cmd
}

// Complete takes the positional arguments.
func (o *MetadataOptions) Complete(args []string) error {
	switch o.kind {
	case kindSeries:
		o.Matches = args
	case kindLabelValues:
		o.Label = args[0]
	}
	return nil
}

// Validate parses selectors and times.
func (o *MetadataOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "table", "json"); err != nil {
		return err
	}
	if o.kind == kindLabelValues && o.Label == "" {
		return usageError("label-values needs a label name")
	}
	o.matchers = nil
	for _, m := range o.Matches {
		if err := engine.CheckLimits(m); err != nil {
			return usageError("selector: %v", err)
		}
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(m)
		if err != nil {
			return usageError("selector %q: %v", m, err)
		}
		o.matchers = append(o.matchers, ms)
	}
	o.start, o.end = timeparse.MinTime, timeparse.MaxTime
	now := time.Now()
	if o.Start != "" {
		t, err := timeparse.Time(o.Start, now)
		if err != nil {
			return usageError("--start: %v", err)
		}
		o.start = t
	}
	if o.End != "" {
		t, err := timeparse.Time(o.End, now)
		if err != nil {
			return usageError("--end: %v", err)
		}
		o.end = t
	}
	if o.end.Before(o.start) {
		return usageError("--end is before --start")
	}
	return nil
}

// Run connects and prints.
func (o *MetadataOptions) Run(ctx context.Context) error {
	return o.RunOver(ctx, o.Execute)
}

// Execute answers over connected stores.
func (o *MetadataOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	q, err := (&fanout.Queryable{Stores: stores, Opts: o.FanoutOptions()}).Querier(o.start.UnixMilli(), o.end.UnixMilli())
	if err != nil {
		return err
	}
	defer q.Close()
	if o.kind == kindSeries {
		series, annos, err := serve.SelectSeries(ctx, q, o.matchers, o.start.UnixMilli(), o.end.UnixMilli(), o.Limit)
		if err != nil {
			return err
		}
		warns := serve.AnnotationStrings(annos, flagWords)
		warnings = append(warnings, warns...)
		if o.Output == "json" {
			return output.WriteSeriesJSON(o.Out, series, warnings)
		}
		printWarnings(o.ErrOut, warns)
		return output.WriteSeriesTable(o.Out, series)
	}
	values, annos, err := serve.Labels(ctx, q, o.Label, o.matchers, o.Limit)
	if err != nil {
		return err
	}
	warns := serve.AnnotationStrings(annos, flagWords)
	warnings = append(warnings, warns...)
	if o.Output == "json" {
		return output.WriteStringsJSON(o.Out, values, warnings)
	}
	printWarnings(o.ErrOut, warns)
	for _, v := range values {
		fmt.Fprintln(o.Out, v)
	}
	return nil
}

func printWarnings(w io.Writer, warns []string) {
	for _, s := range warns {
		fmt.Fprintln(w, "Warning:", s)
	}
}
