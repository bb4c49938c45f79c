package cmd

import (
	"flag"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
)

// NewRootCommand is `kubectl globalquery`.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewQueryOptions(streams)
	cmd := &cobra.Command{
		Use:   "kubectl-globalquery QUERY",
		Short: "Run PromQL across every Prometheus in your clusters, deduplicated, with nothing installed in them",
		Long: `Finds every prometheus-operated service the kubeconfig can see, opens port-forwards to each
Prometheus pod's Thanos sidecar, reads series through the Thanos StoreAPI, merges and
deduplicates HA replicas like Thanos Querier (--query.replica-label), and evaluates the query
locally with the Prometheus engine.`,
		Example: `  # Which targets are up, across every region, HA replicas merged (as the Querier's dedup)
  kubectl globalquery 'up' --dedup

  # Error rate by cluster
  kubectl globalquery 'sum by (cluster) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (cluster) (rate(http_requests_total[5m]))'

  # The last hour as a chart in the terminal (and as an image)
  kubectl globalquery 'sum by (cluster) (rate(http_requests_total[5m]))' --since 1h -o graph --png rate.png

  # Every replica, not deduplicated; as the Prometheus API's JSON
  kubectl globalquery 'up' --dedup=false -o json | jq '.data.result | length'

  # Several clusters at once, one kube context each
  kubectl globalquery 'count by (cluster) (up)' --context eu-prod --context us-prod

  # StoreAPI endpoints you can reach directly, without kube
  kubectl globalquery 'up' --endpoint 127.0.0.1:10901`,
		// Help and completion show the name kubectl users type.
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl globalquery"},
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	cmd.ValidArgsFunction = completeQuery(o.StoreOptions)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	o.AddFlags(cmd.PersistentFlags())
	// kubectl's -v: client-go logs requests at 6 and bodies at 8 (with bearer tokens masked).
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	o.addQueryFlags(cmd.Flags())
	cmd.AddCommand(NewStoresCommand(o.StoreOptions), NewVersionCommand(streams),
		newMetadataCommand(o.StoreOptions, kindSeries),
		newMetadataCommand(o.StoreOptions, kindLabels),
		newMetadataCommand(o.StoreOptions, kindLabelValues),
		newRulesCommand(o.StoreOptions, true), newRulesCommand(o.StoreOptions, false), newTargetsCommand(o.StoreOptions),
		newMetricMetadataCommand(o.StoreOptions), newExemplarsCommand(o.StoreOptions))
	cmd.AddCommand(NewServeCommand(o.StoreOptions))
	return cmd
}
