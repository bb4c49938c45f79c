// Package cmd holds the cobra commands. Each command follows kubectl's Complete / Validate / Run
// pattern so that it can be driven from tests without a shell.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// DefaultReplicaLabels are the operator's default replica label and the common short form.
var DefaultReplicaLabels = []string{"prometheus_replica", "replica"}

// StoreOptions are the flags shared by every command that reads from stores: where the stores
// are, and how their answers combine.
type StoreOptions struct {
	Kube *genericclioptions.ConfigFlags

	Contexts       []string
	AllContexts    bool
	Service        string
	Selector       string
	PortName       string
	Port           int
	Endpoints      []string
	NoWebSocket    bool
	ConnectTimeout time.Duration
	// PreferRemoteRead reads every Prometheus through remote read on its web port, even where a
	// sidecar runs.
	PreferRemoteRead bool
	// StoreSelector selects Thanos StoreAPI services (Store Gateway, Ruler, Receive, Querier) to
	// read besides the Prometheus pods; PreferQuerier reads a cluster through its Querier alone.
	StoreSelector string
	PreferQuerier bool

	Dedup           bool
	ReplicaLabels   []string
	DedupFunc       string
	PartialResponse bool
	SeriesBatchSize int
	StoreTimeout    time.Duration
	MaxSeries       int64
	Quiet           bool
	GRPCTLS         connect.TLSOptions
	grpcCreds       grpc.DialOption

	// ReplicaLabelsSource says where ReplicaLabels came from: "flag", "Prometheus objects" or
	// "default".
	ReplicaLabelsSource string
	replicaLabelsSet    bool
	flags               *pflag.FlagSet

	algo dedup.Algorithm
	genericiooptions.IOStreams
}

// NewStoreOptions returns options with the Querier's defaults.
func NewStoreOptions(streams genericiooptions.IOStreams) *StoreOptions {
	kube := genericclioptions.NewConfigFlags(false)
	// --context is ours: it may be repeated to span clusters.
	kube.Context = nil
	return &StoreOptions{
		Kube:           kube,
		Service:        discovery.DefaultService,
		PortName:       discovery.DefaultPortName,
		Port:           discovery.DefaultPort,
		ConnectTimeout: 30 * time.Second,
		Dedup:          true,
		ReplicaLabels:  slices.Clone(DefaultReplicaLabels),
		DedupFunc:      string(dedup.Penalty),
		// The Querier's default: fewer, larger gRPC messages from stores that support batching.
		SeriesBatchSize: 64,
		IOStreams:       streams,
	}
}

// AddFlags registers the flags on fs.
func (o *StoreOptions) AddFlags(fs *pflag.FlagSet) {
	o.flags = fs
	o.Kube.AddFlags(fs)
	fs.StringArrayVar(&o.Contexts, "context", nil, "Kubeconfig context to query; repeat to span several clusters (default: the current context)")
	fs.BoolVar(&o.AllContexts, "all-contexts", false, "Query every context of the kubeconfig")
	fs.StringVar(&o.Service, "service", o.Service, "Name of the services that front Prometheus pods")
	fs.StringVarP(&o.Selector, "selector", "l", "", "Label selector for the services instead of --service (e.g. app.kubernetes.io/name=prometheus)")
	fs.StringVar(&o.PortName, "port-name", o.PortName, "Name of the service port of the Thanos sidecar's StoreAPI")
	fs.IntVar(&o.Port, "port", o.Port, "StoreAPI port to use when the service names none --port-name")
	fs.StringArrayVar(&o.Endpoints, "endpoint", nil, "StoreAPI address HOST:PORT to query directly, skipping discovery; repeatable")
	fs.BoolVar(&o.NoWebSocket, "disable-websocket", false, "Open port-forwards over SPDY only, without trying WebSocket first")
	fs.BoolVar(&o.PreferRemoteRead, "prefer-remote-read", false, "Read every Prometheus through remote read on its web port (9090), even where a Thanos sidecar runs (e.g. when the sidecar is broken)")
	fs.StringVar(&o.StoreSelector, "store-selector", "", "Label selector for Thanos StoreAPI services to read too, each ready pod a store: Store Gateway, Ruler, Receive, Querier (e.g. app.kubernetes.io/part-of=thanos)")
	fs.BoolVar(&o.PreferQuerier, "prefer-querier", false, "Where --store-selector finds a Thanos Querier, read that cluster through one Querier pod alone instead of a tunnel per Prometheus pod")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", o.ConnectTimeout, "How long to wait for each store's tunnel and Info answer")
	fs.BoolVar(&o.Dedup, "dedup", o.Dedup, "Merge HA replicas that differ only by replica labels (--dedup=false shows every replica)")
	fs.StringArrayVar(&o.ReplicaLabels, "replica-label", o.ReplicaLabels, "External label that tells HA replicas apart; repeatable")
	fs.StringVar(&o.DedupFunc, "dedup-func", o.DedupFunc, "Deduplication algorithm: penalty (default) or chain, as the Querier's --deduplication.func; or gapfill, ours: fills short gaps from the other replica and keeps counters from jumping at a switch")
	fs.BoolVar(&o.PartialResponse, "partial-response", false, "Answer from the stores that work when some fail, with a warning naming each missing store")
	fs.BoolVar(&o.GRPCTLS.Enabled, "grpc-client-tls-secure", false, "Use TLS towards the stores (as the Querier's flag of that name)")
	fs.StringVar(&o.GRPCTLS.CertFile, "grpc-client-tls-cert", "", "Client certificate for stores that require mTLS")
	fs.StringVar(&o.GRPCTLS.KeyFile, "grpc-client-tls-key", "", "Key of --grpc-client-tls-cert")
	fs.StringVar(&o.GRPCTLS.CAFile, "grpc-client-tls-ca", "", "CA of the stores' certificates (default: the system's roots)")
	fs.StringVar(&o.GRPCTLS.ServerName, "grpc-client-server-name", "", "Name expected in the stores' certificates")
	fs.BoolVar(&o.GRPCTLS.SkipVerify, "grpc-client-tls-skip-verify", false, "Do not verify the stores' certificates (insecure)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "No progress on stderr (it is shown only when stderr is a terminal anyway)")
	fs.Int64Var(&o.MaxSeries, "max-series", 1_000_000, "Fail a query that reads more series than this from the stores, before they exhaust memory (0: no limit)")
	fs.DurationVar(&o.StoreTimeout, "store-timeout", 0, "Give up on a store that has not sent all its series within this time (0: only --timeout applies), as the Querier's --store.response-timeout")
	fs.IntVar(&o.SeriesBatchSize, "series-batch-size", o.SeriesBatchSize, "Series per gRPC message asked of stores that batch (Thanos ≥ 0.41); 0 asks for one series per message")
}

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
	if o.ReplicaLabelsSource == "" {
		o.ReplicaLabelsSource = "default"
		if (o.flags != nil && o.flags.Changed("replica-label")) || !slices.Equal(o.ReplicaLabels, DefaultReplicaLabels) {
			o.ReplicaLabelsSource = "flag"
		}
	}
	o.replicaLabelsSet = o.ReplicaLabelsSource == "flag"
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

// FanoutOptions returns how the stores' answers combine.
func (o *StoreOptions) FanoutOptions() fanout.Options {
	return fanout.Options{
		ReplicaLabels:     o.ReplicaLabels,
		Dedup:             o.Dedup,
		DedupAlgorithm:    o.algo,
		PartialResponse:   o.PartialResponse,
		ResponseBatchSize: int64(o.SeriesBatchSize),
		StoreTimeout:      o.StoreTimeout,
		MaxSeries:         o.MaxSeries,
	}
}

// Connect discovers and connects to the stores. Problems that leave the rest usable (a namespace
// the user may not read, a store that is down under --partial-response) come back as warnings.
func (o *StoreOptions) Connect(ctx context.Context) (*connect.Set, []string, error) {
	copts := connect.Options{Tunnel: tunnel.Options{DisableWebSocket: o.NoWebSocket}, InfoTimeout: o.ConnectTimeout}
	if o.grpcCreds != nil {
		copts.DialOptions = append(copts.DialOptions, o.grpcCreds)
	}
	var (
		clusters []connect.Cluster
		skipped  []connect.Failure
		warnings []string
	)
	prog := newProgress(o.ErrOut, o.Quiet)
	if len(o.Endpoints) == 0 {
		var err error
		clusters, skipped, warnings, err = o.discover(ctx)
		if err != nil {
			prog.line("")
			return nil, warnings, err
		}
		pods := 0
		for _, c := range clusters {
			pods += len(c.Targets)
		}
		prog.discovered(pods, len(clusters))
	}
	set := o.connectStores(ctx, clusters, skipped, copts)
	prog.connected(set)
	if len(set.Failures) > 0 {
		if !o.PartialResponse || len(set.Stores) == 0 {
			set.Close()
			errs := make([]error, len(set.Failures))
			for i, f := range set.Failures {
				errs[i] = f
			}
			hint := "; use --partial-response to answer from the other stores"
			if len(set.Stores) == 0 {
				hint = ""
			}
			return nil, warnings, fmt.Errorf("%w%s", errors.Join(errs...), hint)
		}
		for _, f := range set.Failures {
			warnings = append(warnings, fanout.PartialWarning(f))
		}
	}
	return set, warnings, nil
}

func (o *StoreOptions) contexts() ([]string, error) {
	if len(o.Contexts) > 0 {
		return o.Contexts, nil
	}
	if !o.AllContexts {
		return []string{""}, nil
	}
	raw, err := o.Kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, explainKubeconfig(err)
	}
	var names []string
	for n := range raw.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("--all-contexts: the kubeconfig has no contexts")
	}
	return names, nil
}

// checkKubeconfig fails early, naming the files looked at, when no kubeconfig gives a server:
// client-go would otherwise fall back to localhost:8080 and fail with a puzzling "connection
// refused".
func (o *StoreOptions) checkKubeconfig() error {
	if o.Kube.APIServer != nil && *o.Kube.APIServer != "" {
		return nil
	}
	loader := o.Kube.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return explainKubeconfig(err)
	}
	if len(raw.Clusters) > 0 {
		return nil
	}
	if _, err := rest.InClusterConfig(); err == nil {
		return nil
	}
	where := "~/.kube/config"
	if o.Kube.KubeConfig != nil && *o.Kube.KubeConfig != "" {
		where = *o.Kube.KubeConfig
	} else if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		where = "KUBECONFIG=" + env
	}
	return fmt.Errorf("no kubeconfig with a cluster found (looked at %s): set KUBECONFIG or --kubeconfig, "+
		"or query StoreAPI addresses directly with --endpoint HOST:PORT", where)
}

// discover finds every context's targets. Pods it found but cannot use (not ready) come back as
// failures of their own, to count as the stores they are.
func (o *StoreOptions) discover(ctx context.Context) ([]connect.Cluster, []connect.Failure, []string, error) {
	if err := o.checkKubeconfig(); err != nil {
		return nil, nil, nil, err
	}
	names, err := o.contexts()
	if err != nil {
		return nil, nil, nil, err
	}
	ns := ""
	if o.Kube.Namespace != nil {
		ns = *o.Kube.Namespace
	}
	var (
		clusters        []connect.Cluster
		skipped         []connect.Failure
		warnings        []string
		notFound        []error
		operatorReplica []string
	)
	// Replica labels: the flag wins; else what the Prometheus objects say; else the defaults.
	defer func() {
		if len(operatorReplica) > 0 {
			slices.Sort(operatorReplica)
			o.ReplicaLabels = operatorReplica
			o.ReplicaLabelsSource = "Prometheus objects"
		}
	}()
	for _, name := range names {
		if name != "" {
			o.Kube.Context = &name
		}
		cfg, err := o.Kube.ToRESTConfig()
		o.Kube.Context = nil
		if err != nil {
			return nil, nil, warnings, explainKubeconfig(err)
		}
		// Discovery makes a handful of small requests; client-go's default 5/s would queue them.
		dcfg := rest.CopyConfig(cfg)
		dcfg.QPS, dcfg.Burst = 50, 100
		// The tunnels opened next resume the TLS session of these requests.
		tunnel.ShareSessions(dcfg)
		// A cut connection fails discovery at once, naming the API server, rather than after
		// client-go's retries with a bare network error.
		discovery.FailFast(dcfg, o.contextName(name))
		kc, err := kubernetes.NewForConfig(dcfg)
		if err != nil {
			return nil, nil, warnings, err
		}
		if !o.replicaLabelsSet {
			if dc, err := dynamic.NewForConfig(dcfg); err == nil {
				if ol := discovery.ReadOperatorLabels(ctx, dc, ns); ol != nil {
					for _, l := range ol.Replica {
						if !slices.Contains(operatorReplica, l) {
							operatorReplica = append(operatorReplica, l)
						}
					}
				}
			}
		}
		res, err := discovery.Discover(ctx, kc, discovery.Options{
			Namespace: ns, Service: o.Service, Selector: o.Selector, PortName: o.PortName, Port: o.Port,
			PreferRemoteRead: o.PreferRemoteRead,
		})
		prefix := ""
		if name != "" && len(names) > 1 {
			prefix = "context " + name + ": "
		}
		res, more, err := o.withSelectedStores(ctx, kc, ns, res, err)
		for _, w := range more {
			warnings = append(warnings, prefix+w)
		}
		if res != nil {
			for _, p := range res.Problems {
				if p.Pod == "" {
					warnings = append(warnings, prefix+p.Error())
					continue
				}
				// A pod that cannot serve (not ready) is a store missing from the answer, as
				// one that cannot be reached: an error unless partial responses are allowed.
				store := p.Namespace + "/" + p.Pod
				if prefix != "" {
					store = name + "/" + store
				}
				skipped = append(skipped, connect.Failure{Name: store, Context: name, Err: p.Err})
			}
		}
		var nf *discovery.NotFoundError
		if errors.As(err, &nf) && len(names) > 1 {
			notFound = append(notFound, fmt.Errorf("%s%w", prefix, err))
			continue
		}
		var lost *discovery.ConnectionLostError
		if errors.As(err, &lost) {
			// It names the context itself.
			return nil, nil, warnings, explainAPIServer(err, cfg.Host)
		}
		if err != nil {
			return nil, nil, warnings, fmt.Errorf("%s%w", prefix, explainAPIServer(err, cfg.Host))
		}
		clusters = append(clusters, connect.Cluster{Context: name, Config: cfg, Targets: res.Targets})
	}
	if len(clusters) == 0 && len(notFound) > 0 {
		return nil, nil, warnings, errors.Join(notFound...)
	}
	for _, e := range notFound {
		warnings = append(warnings, e.Error())
	}
	return clusters, skipped, warnings, nil
}

// explainKubeconfig words kubeconfig problems as kubectl does: which file, which context.
func explainKubeconfig(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return fmt.Errorf("no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or use --endpoint HOST:PORT to query StoreAPI endpoints directly")
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("cannot read the kubeconfig: %w", err)
	}
	return fmt.Errorf("kubeconfig: %w", err)
}

// contextName is the kube context a discovery is for: name, or the kubeconfig's current one.
func (o *StoreOptions) contextName(name string) string {
	if name != "" {
		return name
	}
	if raw, err := o.Kube.ToRawKubeConfigLoader().RawConfig(); err == nil {
		return raw.CurrentContext
	}
	return ""
}

// explainAPIServer words a failure to reach the API server in one line naming it.
func explainAPIServer(err error, host string) error {
	var lost *discovery.ConnectionLostError
	if errors.As(err, &lost) {
		return connectionLost{lost}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "getting credentials: exec:"):
		// The plugin's own message has gone to stderr already, as with kubectl.
		_, cause, _ := strings.Cut(msg, "getting credentials: exec: ")
		return fmt.Errorf("the kubeconfig's credential plugin failed (%s); its own message is above: log in again as it says, or use another context", cause)
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"):
		return fmt.Errorf("cannot reach the API server at %s: %w", host, err)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return fmt.Errorf("TLS handshake with the API server at %s failed (wrong CA or server name in the kubeconfig?): %w", host, err)
	}
	return err
}

// RunOver connects, prints connection warnings, hands the stores to execute and closes them
// whatever happens: the shape of every command that reads from stores once.
func (o *StoreOptions) RunOver(ctx context.Context, execute func(context.Context, []*fanout.Store, []string) error) error {
	set, warnings, err := o.Connect(ctx)
	printWarnings(o.ErrOut, warnings)
	if err != nil {
		return err
	}
	defer set.Close()
	return execute(ctx, set.FanoutStores(), warnings)
}
