package cmd

import (
	"context"
	"slices"
	"strings"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// Validate checks flag combinations.
func (o *StoreOptions) Validate() error {
	algo, err := dedup.ParseAlgorithm(o.DedupFunc)
	if err != nil {
		return usageError("--dedup-func: %v", err)
	}
	o.algo = algo
	creds, err := o.GRPCTLS.DialOption()
	if err != nil {
		return usageError("%v", err)
	}
	o.grpcCreds = creds
	if o.AllContexts && len(o.Contexts) > 0 {
		return usageError("--all-contexts and --context cannot be used together")
	}
	if len(o.Endpoints) > 0 && (o.AllContexts || len(o.Contexts) > 0 || o.Selector != "" || o.StoreSelector != "") {
		return usageError("--endpoint skips discovery and cannot be combined with --context, --all-contexts, -l or --store-selector")
	}
	if o.PreferQuerier && o.StoreSelector == "" {
		return usageError("--prefer-querier chooses a Querier among the Thanos services that --store-selector finds: add --store-selector (e.g. app.kubernetes.io/component=query-layer)")
	}
	if o.ConnectTimeout <= 0 {
		return usageError("--connect-timeout %s: want a positive duration, e.g. --connect-timeout 30s", o.ConnectTimeout)
	}
	if o.StoreTimeout < 0 {
		return usageError("--store-timeout %s: want a positive duration, or 0 to leave only --timeout", o.StoreTimeout)
	}
	if o.SeriesBatchSize < 0 {
		return usageError("--series-batch-size %d: want 0 (one series per message) or more", o.SeriesBatchSize)
	}
	for _, l := range o.ReplicaLabels {
		if l == "" {
			return usageError("--replica-label '': a replica label needs a name (e.g. --replica-label replica); leave the flag out for the defaults")
		}
	}
	if o.MaxSeries < 0 {
		return usageError("--max-series %d: want 0 (no limit) or more", o.MaxSeries)
	}
	if o.PreferRemoteRead && len(o.Endpoints) > 0 {
		return usageError("--prefer-remote-read reads discovered Prometheus pods; --endpoint addresses are StoreAPI endpoints and cannot be read that way")
	}
	for _, e := range o.Endpoints {
		if !strings.Contains(e, ":") {
			return usageError("--endpoint %q: want HOST:PORT", e)
		}
	}
	return nil
}

// FanoutOptions returns how the stores' answers combine: by the replica labels of the set opened
// last, else by the flag's.
func (o *StoreOptions) FanoutOptions() fanout.Options {
	return fanout.Options{
		ReplicaLabels:     o.replicaLabels(),
		Dedup:             o.Dedup,
		DedupAlgorithm:    o.algo,
		PartialResponse:   o.PartialResponse,
		ResponseBatchSize: int64(o.SeriesBatchSize),
		StoreTimeout:      o.StoreTimeout,
		MaxSeries:         o.MaxSeries,
	}
}

func (o *StoreOptions) replicaLabels() []string {
	if o.opened != nil {
		return o.opened.ReplicaLabels
	}
	return o.ReplicaLabels
}

// Config maps the flags to what opening the stores needs.
func (o *StoreOptions) Config() stores.Config {
	cfg := stores.Config{
		Kube: o.Kube, Contexts: o.Contexts, AllContexts: o.AllContexts,
		Service: o.Service, Selector: o.Selector, PortName: o.PortName, Port: o.Port,
		Endpoints: o.Endpoints, PreferRemoteRead: o.PreferRemoteRead,
		StoreSelector: o.StoreSelector, PreferQuerier: o.PreferQuerier,
		PartialResponse: o.PartialResponse,
		Connect:         connect.Options{Tunnel: tunnel.Options{DisableWebSocket: o.NoWebSocket}, InfoTimeout: o.ConnectTimeout},
	}
	// Labels the user chose win over the Prometheus objects' own.
	if (o.flags != nil && o.flags.Changed("replica-label")) || !slices.Equal(o.ReplicaLabels, DefaultReplicaLabels) {
		cfg.ReplicaLabels = o.ReplicaLabels
	}
	if o.grpcCreds != nil {
		cfg.Connect.DialOptions = append(cfg.Connect.DialOptions, o.grpcCreds)
	}
	return cfg
}

// Connect opens the stores, with a status line at a terminal. Problems that leave the rest usable
// (a namespace the user may not read, a store that is down under --partial-response) come back as
// warnings.
func (o *StoreOptions) Connect(ctx context.Context) (*stores.Set, []stores.Warning, error) {
	cfg := o.Config()
	prog := newProgress(o.ErrOut, o.Quiet)
	cfg.Progress = prog
	set, warns, err := stores.Open(ctx, cfg)
	if err != nil {
		prog.line("")
	}
	if set != nil {
		o.opened = set
	}
	return set, warns, inFlags(err)
}

// RunOver connects, prints connection warnings, hands the stores to execute and closes them
// whatever happens: the shape of every command that reads from stores once.
func (o *StoreOptions) RunOver(ctx context.Context, execute func(context.Context, []*fanout.Store, []string) error) error {
	set, warns, err := o.Connect(ctx)
	warnings := warningsIn(warns, flagWords)
	printWarnings(o.ErrOut, warnings)
	if err != nil {
		return err
	}
	defer set.Close()
	return inFlags(execute(ctx, set.FanoutStores(), warnings))
}
