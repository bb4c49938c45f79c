package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// NewStoresCommand lists the StoreAPI endpoints that queries would use.
func NewStoresCommand(o *StoreOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "stores",
		Short: "List the discovered StoreAPI endpoints with their external labels and time ranges",
		Long: `Lists every store a query would read, like the Querier's Stores page: its name (context,
namespace/pod, or endpoint), how it is read (sidecar: the Thanos sidecar's StoreAPI; plain: a
Prometheus without sidecar, through remote read; storeapi: a Thanos service found with
--store-selector, or an --endpoint), the component it says it is (sidecar, store, query, rule,
receive, prometheus), external labels, the time range it holds, whether it answered, and how
long its Info call took. Stores that fail are listed too, with the reason.`,
		Example: `  kubectl globalquery stores
  kubectl globalquery stores --all-contexts
  kubectl globalquery stores -n monitoring -l app.kubernetes.io/name=prometheus
  kubectl globalquery stores --store-selector app.kubernetes.io/part-of=thanos --prefer-querier`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runStores(c.Context(), o)
		},
	}
}

func runStores(ctx context.Context, o *StoreOptions) error {
	// A store listing is useful precisely when some stores are broken: show them all.
	partial := o.PartialResponse
	o.PartialResponse = true
	set, warnings, err := o.Connect(ctx)
	o.PartialResponse = partial
	for _, w := range warnings {
		if !w.Partial {
			fmt.Fprintln(o.ErrOut, "Warning:", w.In(flagWords))
		}
	}
	if err != nil {
		return err
	}
	defer set.Close()
	if err := printStores(o, set); err != nil {
		return err
	}
	if o.Dedup {
		fmt.Fprintf(o.ErrOut, "Replica labels (%s): %s\n", set.ReplicaLabelsSource, strings.Join(set.ReplicaLabels, ", "))
	}
	return nil
}

func printStores(o *StoreOptions, set *stores.Set) error {
	var rows [][]string
	for _, s := range set.Stores {
		var ls []string
		for _, l := range s.Store.Info.LabelSets {
			ls = append(ls, l.String())
		}
		// A Querier lists its stores' label sets in no fixed order.
		slices.Sort(ls)
		component := s.Store.Info.ComponentType
		if component == "" {
			component = "-"
		}
		rows = append(rows, []string{s.Store.Name, string(s.Kind), component, strings.Join(ls, " "), fmtStoreTime(s.Store.Info.MinTime), fmtStoreTime(s.Store.Info.MaxTime), "up", s.RTT.Round(time.Millisecond).String()})
	}
	for _, f := range set.Failures {
		rows = append(rows, []string{f.Name, string(f.Kind), "", "", "", "", "down: " + strings.TrimPrefix(f.WordIn(flagWords), "store "+f.Name+": "), ""})
	}
	return output.WriteRows(o.Out, []string{"store", "kind", "component", "labels", "min time", "max time", "health", "rtt"}, rows)
}

func fmtStoreTime(ms int64) string {
	// Sidecars advertise the largest int64 for "up to now".
	if ms >= 1<<62 || ms <= -(1<<62) {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}
