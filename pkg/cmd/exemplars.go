package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/exemplars"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// ExemplarsOptions serve `exemplars`, the counterpart of /api/v1/query_exemplars.
type ExemplarsOptions struct {
	*StoreOptions
	Query  string
	Since  time.Duration
	Output string
	now    func() time.Time
}

func newExemplarsCommand(so *StoreOptions) *cobra.Command {
	o := &ExemplarsOptions{StoreOptions: so, Since: time.Hour, Output: "table", now: time.Now}
	cmd := &cobra.Command{
		Use:   "exemplars QUERY",
		Short: "List the exemplars (trace IDs) of the series a query selects, like /api/v1/query_exemplars",
		Example: `  kubectl globalquery exemplars 'rpc_duration_seconds_bucket{service="auth"}' --since 15m
  kubectl globalquery exemplars 'histogram_quantile(0.99, rate(rpc_duration_seconds_bucket[5m]))' -o json`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			o.Query = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.RunOver(c.Context(), o.Execute)
		},
	}
	cmd.Flags().DurationVar(&o.Since, "since", o.Since, "Exemplars of the last duration")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords("table", "json", "yaml"))
	cmd.ValidArgsFunction = completeQuery(so)
	return cmd
}

// Validate checks the query and flags before anything is connected.
func (o *ExemplarsOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "table", "json", "yaml"); err != nil {
		return err
	}
	if o.Since <= 0 {
		return usageError("--since %s: want a positive duration, e.g. --since 15m", o.Since)
	}
	return engine.Validate(o.Query)
}

// Execute reads the exemplars of connected stores and prints them.
func (o *ExemplarsOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	now := o.now()
	fo := o.FanoutOptions()
	var replicaLabels []string
	if fo.Dedup {
		replicaLabels = fo.ReplicaLabels
	}
	req := store.ExemplarsRequest{Query: o.Query, Start: now.Add(-o.Since).UnixMilli(), End: now.UnixMilli()}
	data, warns, err := exemplars.Read(ctx, stores, req, fo.PartialResponse, replicaLabels)
	if err != nil {
		return inFlags(err)
	}
	for _, w := range warns {
		warnings = append(warnings, inFlags(w).Error())
	}
	if o.Output != "table" {
		return writeDocument(o.Out, o.Output, func(w io.Writer) error { return serve.WriteExemplars(w, data, warnings) })
	}
	printWarnings(o.ErrOut, warnings)
	var rows [][]string
	for _, d := range data {
		for _, e := range d.Exemplars {
			rows = append(rows, []string{d.SeriesLabels.String(), orDash(restString(e.Labels)), strconv.FormatFloat(e.Value, 'g', -1, 64),
				time.UnixMilli(e.Ts).UTC().Format(time.RFC3339), shortAge(now.Sub(time.UnixMilli(e.Ts))) + " ago"})
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.ErrOut, "No exemplars: the series have none in this time range, or their Prometheus stores none (--enable-feature=exemplar-storage).")
		return nil
	}
	return output.WriteRows(o.Out, []string{"series", "exemplar", "value", "time", "age"}, rows)
}
