package cmd

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
)

// The Prometheus API's "no bound" times for metadata queries.
var (
	apiMinTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	apiMaxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
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
	if o.Output != "table" && o.Output != "json" {
		return usageError("--output %q: want table or json", o.Output)
	}
	if o.kind == kindLabelValues && o.Label == "" {
		return usageError("label-values needs a label name")
	}
	o.matchers = nil
	for _, m := range o.Matches {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(m)
		if err != nil {
			return usageError("selector %q: %v", m, err)
		}
		o.matchers = append(o.matchers, ms)
	}
	o.start, o.end = apiMinTime, apiMaxTime
	now := time.Now()
	if o.Start != "" {
		t, err := parseTime(o.Start, now)
		if err != nil {
			return usageError("--start: %v", err)
		}
		o.start = t
	}
	if o.End != "" {
		t, err := parseTime(o.End, now)
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
	set, warnings, err := o.Connect(ctx)
	for _, w := range warnings {
		fmt.Fprintln(o.ErrOut, "Warning:", w)
	}
	if err != nil {
		return err
	}
	defer set.Close()
	return o.Execute(ctx, set.FanoutStores(), warnings)
}

// Execute answers over connected stores.
func (o *MetadataOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	q, err := (&fanout.Queryable{Stores: stores, Opts: o.FanoutOptions()}).Querier(o.start.UnixMilli(), o.end.UnixMilli())
	if err != nil {
		return err
	}
	defer q.Close()
	if o.kind == kindSeries {
		series, warns, err := selectSeries(ctx, q, o.matchers, o.start.UnixMilli(), o.end.UnixMilli(), o.Limit)
		if err != nil {
			return err
		}
		warnings = append(warnings, warns...)
		if o.Output == "json" {
			return output.WriteSeriesJSON(o.Out, series, warnings)
		}
		printWarnings(o.ErrOut, warns)
		return output.WriteSeriesTable(o.Out, series)
	}
	values, warns, err := labelStrings(ctx, q, o.kind, o.Label, o.matchers, o.Limit)
	if err != nil {
		return err
	}
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

// selectSeries merges the label sets of every selector, as the API does for several match[].
func selectSeries(ctx context.Context, q storage.Querier, sels [][]*labels.Matcher, mint, maxt int64, limit int) ([]labels.Labels, []string, error) {
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: limit}
	sets := make([]storage.SeriesSet, 0, len(sels))
	for _, ms := range sels {
		sets = append(sets, q.Select(ctx, true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	var out []labels.Labels
	for set.Next() {
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if err := set.Err(); err != nil {
		return nil, nil, err
	}
	return out, annotationStrings(set.Warnings()), nil
}

func labelStrings(ctx context.Context, q storage.Querier, kind metadataKind, name string, sels [][]*labels.Matcher, limit int) ([]string, []string, error) {
	hints := &storage.LabelHints{Limit: limit}
	one := func(ms []*labels.Matcher) ([]string, []string, error) {
		var (
			vals  []string
			annos annotations.Annotations
			err   error
		)
		if kind == kindLabels {
			vals, annos, err = q.LabelNames(ctx, hints, ms...)
		} else {
			vals, annos, err = q.LabelValues(ctx, name, hints, ms...)
		}
		return vals, annotationStrings(annos), err
	}
	if len(sels) == 0 {
		return one(nil)
	}
	var all, warns []string
	for _, ms := range sels {
		v, w, err := one(ms)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, v...)
		warns = append(warns, w...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, warns, nil
}

func annotationStrings(a annotations.Annotations) []string {
	w, i := a.AsStrings("", 0, 0)
	return append(w, i...)
}

func printWarnings(w io.Writer, warns []string) {
	for _, s := range warns {
		fmt.Fprintln(w, "Warning:", s)
	}
}
