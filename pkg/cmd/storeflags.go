// Package cmd holds the cobra commands. Each command follows kubectl's Complete / Validate / Run
// pattern so that it can be driven from tests without a shell.
package cmd

import (
	"slices"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/dedup"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// DefaultReplicaLabels are the operator's default replica label and the common short form.
var DefaultReplicaLabels = stores.DefaultReplicaLabels

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

	flags *pflag.FlagSet
	// opened is the set Connect opened last: its replica labels are the ones answers combine by.
	opened *stores.Set

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
