package cmd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/targets"
)

// TargetsOptions serve `targets`, the counterpart of /api/v1/targets.
type TargetsOptions struct {
	*StoreOptions
	Output string
	Health string
	Jobs   []string
	now    func() time.Time
}

func newTargetsCommand(so *StoreOptions) *cobra.Command {
	o := &TargetsOptions{StoreOptions: so, Output: "table", now: time.Now}
	cmd := &cobra.Command{
		Use:   "targets",
		Short: "List the scrape targets of every Prometheus with their health, like /api/v1/targets",
		Long: `Lists the active scrape targets of every store that serves the Targets API, the copies an
HA pair scrapes merged as the Querier merges them: a replica that sees a target down wins over
one that sees it up, then the latest scrape.`,
		Example: `  kubectl globalquery targets --health down
  kubectl globalquery targets --job api -o wide`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.RunOver(c.Context(), o.Execute)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, wide, json or yaml")
	cmd.Flags().StringVar(&o.Health, "health", "", "Only targets of this health: up, down or unknown")
	cmd.Flags().StringArrayVar(&o.Jobs, "job", nil, "Only targets of this job (scrape pool); repeatable")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords("table", "wide", "json", "yaml"))
	_ = cmd.RegisterFlagCompletionFunc("health", completeWords("up", "down", "unknown"))
	return cmd
}

// Validate checks the flags before anything is connected.
func (o *TargetsOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "table", "wide", "json", "yaml"); err != nil {
		return err
	}
	if o.Health != "" && o.Health != "up" && o.Health != "down" && o.Health != "unknown" {
		return usageError("--health %q: want up, down or unknown", o.Health)
	}
	return nil
}

// Execute reads the targets of connected stores and prints them.
func (o *TargetsOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	fo := o.FanoutOptions()
	to := targets.Options{PartialResponse: fo.PartialResponse}
	if fo.Dedup {
		to.ReplicaLabels = fo.ReplicaLabels
	}
	ts, warns, err := targets.Read(ctx, stores, store.ActiveTargets, to)
	if err != nil {
		return inFlags(err)
	}
	for _, w := range warns {
		warnings = append(warnings, inFlags(w).Error())
	}
	ts.Active = slices.DeleteFunc(ts.Active, func(t store.ActiveTarget) bool {
		return o.Health != "" && t.Health.String() != o.Health || len(o.Jobs) > 0 && !slices.Contains(o.Jobs, t.ScrapePool)
	})
	if o.Output == "json" || o.Output == "yaml" {
		return writeDocument(o.Out, o.Output, func(w io.Writer) error { return serve.WriteTargets(w, ts, warnings) })
	}
	printWarnings(o.ErrOut, warnings)
	slices.SortStableFunc(ts.Active, func(a, b store.ActiveTarget) int {
		// Down first: that is what the listing is read for.
		if a.Health != b.Health {
			return int(a.Health) - int(b.Health)
		}
		return strings.Compare(a.ScrapePool, b.ScrapePool)
	})
	header := []string{"cluster", "job", "instance", "health", "last scrape", "duration", "error"}
	if o.Output == "wide" {
		header = append(header, "url")
	}
	now := o.now()
	var rows [][]string
	for _, t := range ts.Active {
		var where []string
		t.Origin.Range(func(l labels.Label) { where = append(where, l.Value) })
		row := []string{orDash(strings.Join(where, ",")), t.ScrapePool, orDash(t.Labels.Get("instance")), t.Health.String(),
			shortAge(now.Sub(t.LastScrape)) + " ago", fmt.Sprintf("%.3fs", t.LastScrapeDuration), orDash(t.LastError)}
		if o.Output == "wide" {
			row = append(row, t.ScrapeURL)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.ErrOut, "No targets.")
		return nil
	}
	return output.WriteRows(o.Out, header, rows)
}
