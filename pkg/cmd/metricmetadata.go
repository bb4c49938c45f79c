package cmd

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/metadata"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// MetricMetadataOptions serve `metadata`, the counterpart of /api/v1/metadata.
type MetricMetadataOptions struct {
	*StoreOptions
	Metric string
	Limit  int
	Output string
}

func newMetricMetadataCommand(so *StoreOptions) *cobra.Command {
	o := &MetricMetadataOptions{StoreOptions: so, Output: "table", Limit: -1}
	cmd := &cobra.Command{
		Use:   "metadata [METRIC]",
		Short: "Show the type, help and unit of metrics, as their targets expose them, like /api/v1/metadata",
		Example: `  kubectl globalquery metadata http_requests_total
  kubectl globalquery metadata --limit 20 -o json`,
		Args:         cobra.MaximumNArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Metric = args[0]
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.RunOver(c.Context(), o.Execute)
		},
	}
	cmd.Flags().IntVar(&o.Limit, "limit", o.Limit, "At most this many metrics (negative: all)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords("table", "json", "yaml"))
	// A metric name, from the stores, as for a query.
	cmd.ValidArgsFunction = completeQuery(so)
	return cmd
}

// Validate checks the flags before anything is connected.
func (o *MetricMetadataOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "table", "json", "yaml"); err != nil {
		return err
	}
	return nil
}

// Execute reads the metadata of connected stores and prints it.
func (o *MetricMetadataOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	md, warns, err := metadata.Read(ctx, stores, store.MetadataRequest{Metric: o.Metric, Limit: o.Limit}, o.PartialResponse)
	if err != nil {
		return inFlags(err)
	}
	for _, w := range warns {
		warnings = append(warnings, inFlags(w).Error())
	}
	if o.Output != "table" {
		return writeDocument(o.Out, o.Output, func(w io.Writer) error { return serve.WriteMetadata(w, md, warnings) })
	}
	printWarnings(o.ErrOut, warnings)
	names := make([]string, 0, len(md))
	for n := range md {
		names = append(names, n)
	}
	slices.Sort(names)
	var rows [][]string
	for _, n := range names {
		for _, m := range md[n] {
			rows = append(rows, []string{n, m.Type, orDash(m.Unit), m.Help})
		}
	}
	if len(rows) == 0 {
		if o.Metric != "" {
			fmt.Fprintf(o.ErrOut, "No metadata for %s: no target exposes it (recording rules and synthetic series such as up have none).\n", o.Metric)
		} else {
			fmt.Fprintln(o.ErrOut, "No metadata.")
		}
		return nil
	}
	return output.WriteRows(o.Out, []string{"metric", "type", "unit", "help"}, rows)
}
