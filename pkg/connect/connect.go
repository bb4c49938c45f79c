// Package connect turns discovered pods and static endpoints into ready store clients: it opens
// the tunnels and connections concurrently and asks each store for its Info. A pod with a Thanos
// sidecar is read over gRPC, a plain Prometheus through remote read on its web port.
package connect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"k8s.io/client-go/rest"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/remoteread"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// Options for connecting.
type Options struct {
	Tunnel tunnel.Options
	// InfoTimeout bounds the tunnel upgrade plus the Info call of each store.
	InfoTimeout time.Duration
	// Credentials for gRPC; insecure (plaintext) when nil, as the sidecar serves by default.
	DialOptions []grpc.DialOption
}

// Cluster is one kube context's targets.
type Cluster struct {
	Context string // kube context name; "" when only the current context is used
	Config  *rest.Config
	Targets []discovery.Target
	// Qualified: the names of the cluster's stores, and messages about it, carry its context.
	// Set when more than one context was asked, whatever each found, so that a store keeps its
	// name when another context comes up empty.
	Qualified bool
}

// StoreName names the store of a pod of the cluster: namespace/pod, after the context when
// Qualified.
func (c Cluster) StoreName(namespace, pod string) string {
	name := namespace + "/" + pod
	if c.Qualified && c.Context != "" {
		name = c.Context + "/" + name
	}
	return name
}

// Prefix is what precedes a message about the cluster: "context NAME: " when Qualified.
func (c Cluster) Prefix() string {
	if c.Qualified && c.Context != "" {
		return "context " + c.Context + ": "
	}
	return ""
}

// StoreInfo describes a connected store for listings.
type StoreInfo struct {
	Store     *fanout.Store
	Context   string
	Namespace string
	Pod       string
	Endpoint  string // static endpoint, or "pod:port" for tunnels
	// Kind is how the store is read: discovery.Sidecar, discovery.Plain, or discovery.StoreAPI
	// (a selected Thanos service or an --endpoint).
	Kind      discovery.Kind
	Transport tunnel.Transport
	RTT       time.Duration // of the Info call
}

// Failure is a store that could not be reached.
type Failure struct {
	Name    string
	Context string // kube context, as in StoreInfo
	Kind    discovery.Kind
	Err     error
}

// Explained is the failure classified and explained, as edges word it.
func (f Failure) Explained() *failure.StoreError {
	return storeapi.Failed(f.Name, string(f.Kind), f.Err)
}

func (f Failure) Error() string                 { return f.Explained().Error() }
func (f Failure) WordIn(w failure.Words) string { return f.Explained().WordIn(w) }
func (f Failure) FailureClass() failure.Class   { return f.Explained().Class }
func (f Failure) Unwrap() error                 { return f.Err }

// Set is the result of connecting: the stores that answered and the ones that did not.
type Set struct {
	Stores   []StoreInfo
	Failures []Failure

	mu      sync.Mutex
	closers []closer
}

// closer closes one store's connection and tunnel, named so that Retain can close one store.
type closer struct {
	name string
	f    func()
}

// FanoutStores returns the connected stores for querying.
func (s *Set) FanoutStores() []*fanout.Store {
	out := make([]*fanout.Store, len(s.Stores))
	for i := range s.Stores {
		out[i] = s.Stores[i].Store
	}
	return out
}

// Close closes every connection and tunnel, all at once.
func (s *Set) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range s.closers {
		wg.Go(c.f)
	}
	wg.Wait()
	s.closers = nil
}

func (s *Set) onClose(name string, f func()) {
	s.mu.Lock()
	s.closers = append(s.closers, closer{name, f})
	s.mu.Unlock()
}

// Retain keeps the stores and failures for which keep(name, context) is true and closes the
// others' connections and tunnels. Connecting in two phases needs it: --prefer-querier first
// connects a cluster's Thanos services to learn which of them is a Querier, then keeps one
// Querier as the whole cluster's store; the rest must not stay open.
func (s *Set) Retain(keep func(name, context string) bool) {
	kept := map[string]bool{}
	s.Stores = slices.DeleteFunc(s.Stores, func(si StoreInfo) bool {
		kept[si.Store.Name] = keep(si.Store.Name, si.Context)
		return !kept[si.Store.Name]
	})
	// A store that failed its Info call may still hold a tunnel: it stays open with the failure.
	s.Failures = slices.DeleteFunc(s.Failures, func(f Failure) bool {
		kept[f.Name] = keep(f.Name, f.Context)
		return !kept[f.Name]
	})
	s.mu.Lock()
	var drop []closer
	s.closers = slices.DeleteFunc(s.closers, func(c closer) bool {
		if kept[c.name] {
			return false
		}
		drop = append(drop, c)
		return true
	})
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range drop {
		wg.Go(c.f)
	}
	wg.Wait()
}

// Merge moves other's stores, failures and connections into s, which then closes them.
func (s *Set) Merge(other *Set) {
	other.mu.Lock()
	closers := other.closers
	other.closers = nil
	other.mu.Unlock()
	s.mu.Lock()
	s.closers = append(s.closers, closers...)
	s.mu.Unlock()
	s.Stores = append(s.Stores, other.Stores...)
	s.Failures = append(s.Failures, other.Failures...)
	other.Stores, other.Failures = nil, nil
	slices.SortFunc(s.Stores, func(a, b StoreInfo) int { return strings.Compare(a.Store.Name, b.Store.Name) })
}

func baseDialOptions(o *Options) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
		// Notice a dead tunnel within seconds rather than hanging on a stream.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: false}),
		// A reconnect through a tunnel whose pod has died may open and then hear nothing (kwok's
		// and some kubelets' port-forward keep the stream open): give up on the handshake after
		// seconds, not gRPC's default 20 s, so that the next query fails fast or goes partial.
		// A live sidecar answers the handshake in milliseconds even through a tunnel.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: 5 * time.Second}),
	}
	if len(o.DialOptions) == 0 {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	return append(opts, o.DialOptions...)
}

// KindEndpoint is a StoreAPI address given with --endpoint: a sidecar, store gateway or Querier.
// It is read as a discovered Thanos service is, hence the same kind.
const KindEndpoint = discovery.StoreAPI

// client is a store client that can describe itself.
type client interface {
	store.StoreClient
	Info(ctx context.Context) (*store.Info, error)
}

type dialer func(context.Context) (client, func(), tunnel.Transport, error)

type job struct {
	name      string
	context   string
	namespace string
	pod       string
	endpoint  string
	kind      discovery.Kind
	dial      dialer
}

// Connect opens every cluster's tunnels and every static endpoint at once.
func Connect(ctx context.Context, clusters []Cluster, endpoints []string, o Options) *Set {
	if o.InfoTimeout == 0 {
		o.InfoTimeout = 30 * time.Second
	}
	var jobs []job
	for _, c := range clusters {
		for _, t := range c.Targets {
			name := c.StoreName(t.Namespace, t.Pod)
			j := job{
				name: name, context: c.Context, namespace: t.Namespace, pod: t.Pod,
				endpoint: fmt.Sprintf("%s:%d", t.Pod, t.ReadPort()), kind: t.Kind,
				dial: tunnelDialer(c.Config, t, &o),
			}
			switch t.Kind {
			case discovery.Plain:
				j.dial = remoteReadDialer(c.Config, t, &o)
			case discovery.StoreAPI:
			default:
				j.kind = discovery.Sidecar
			}
			jobs = append(jobs, j)
		}
	}
	for _, e := range endpoints {
		jobs = append(jobs, job{name: e, endpoint: e, kind: KindEndpoint, dial: endpointDialer(e, &o)})
	}

	set := &Set{}
	results := make([]*StoreInfo, len(jobs))
	fails := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			results[i], fails[i] = connectOne(ctx, set, j, &o)
		})
	}
	wg.Wait()
	for i := range jobs {
		if fails[i] != nil {
			set.Failures = append(set.Failures, Failure{Name: jobs[i].name, Context: jobs[i].context, Kind: jobs[i].kind, Err: fails[i]})
			continue
		}
		set.Stores = append(set.Stores, *results[i])
	}
	slices.SortFunc(set.Stores, func(a, b StoreInfo) int { return strings.Compare(a.Store.Name, b.Store.Name) })
	return set
}

// ConnectTimeoutError is a store that did not finish its tunnel and Info answer within
// Options.InfoTimeout (--connect-timeout): whatever the handshake was doing when the time ran
// out, that is the cause to name.
type ConnectTimeoutError struct{ D time.Duration }

func (e *ConnectTimeoutError) Error() string { return e.WordIn(failure.Plain) }

func (e *ConnectTimeoutError) WordIn(w failure.Words) string {
	return failure.Message(fmt.Sprintf("no answer to Info within %s ({connect-timeout}): check that the store is up and reachable, or raise {connect-timeout} on a slow link", e.D)).In(w)
}

func (e *ConnectTimeoutError) FailureClass() failure.Class { return failure.Timeout }

func connectOne(ctx context.Context, set *Set, j job, o *Options) (*StoreInfo, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, o.InfoTimeout, &ConnectTimeoutError{D: o.InfoTimeout})
	defer cancel()
	timedOut := func(err error) error {
		var ct *ConnectTimeoutError
		if c := context.Cause(ctx); ctx.Err() != nil && errors.As(c, &ct) {
			return ct
		}
		return err
	}
	client, closeFn, tr, err := j.dial(ctx)
	if err != nil {
		return nil, timedOut(err)
	}
	set.onClose(j.name, closeFn)
	start := time.Now()
	info, err := client.Info(ctx)
	rtt := time.Since(start)
	if err != nil {
		if t := timedOut(err); t != err {
			return nil, t
		}
		return nil, fmt.Errorf("info: %w", err)
	}
	if !info.IsStore {
		return nil, failure.New(failure.Unsupported, "does not serve the Store API (its Info names no store)", nil)
	}
	return &StoreInfo{
		Store:     &fanout.Store{Name: j.name, Kind: string(j.kind), Client: client, Info: *info},
		Context:   j.context,
		Namespace: j.namespace,
		Pod:       j.pod,
		Endpoint:  j.endpoint,
		Kind:      j.kind,
		Transport: tr,
		RTT:       rtt,
	}, nil
}

// openTunnel opens the port-forward connection to the target's pod.
func openTunnel(ctx context.Context, cfg *rest.Config, t discovery.Target, o *Options) (*tunnel.Tunnel, error) {
	tun, err := tunnel.New(cfg, t.Namespace, t.Pod, o.Tunnel)
	if err != nil {
		return nil, err
	}
	if err := tun.Connect(ctx); err != nil {
		return nil, explainTunnel(err, t)
	}
	return tun, nil
}

func tunnelDialer(cfg *rest.Config, t discovery.Target, o *Options) dialer {
	return func(ctx context.Context) (client, func(), tunnel.Transport, error) {
		tun, err := openTunnel(ctx, cfg, t, o)
		if err != nil {
			return nil, nil, "", err
		}
		opts := append(baseDialOptions(o), grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return tun.Dial(ctx, t.Port)
		}))
		conn, err := grpc.NewClient("passthrough:///"+t.String(), opts...)
		if err != nil {
			tun.Close()
			return nil, nil, "", err
		}
		// The tunnel first: the gRPC connection's reader then ends at once instead of waiting.
		return storeapi.Store{Client: storeapi.NewClient(conn)}, func() { tun.Close(); conn.Close() }, tun.Transport(), nil
	}
}

// remoteReadDialer reads a Prometheus without a sidecar: HTTP through the same kind of tunnel,
// to its web port.
func remoteReadDialer(cfg *rest.Config, t discovery.Target, o *Options) dialer {
	return func(ctx context.Context) (client, func(), tunnel.Transport, error) {
		tun, err := openTunnel(ctx, cfg, t, o)
		if err != nil {
			return nil, nil, "", err
		}
		c := remoteread.New(fmt.Sprintf("%s:%d", t.Pod, t.WebPort), func(ctx context.Context) (net.Conn, error) {
			conn, err := tun.Dial(ctx, t.WebPort)
			if err != nil {
				return nil, fmt.Errorf("port-forward to %s port %d: %w", t, t.WebPort, err)
			}
			return conn, nil
		})
		return c, func() { tun.Close(); c.Close() }, tun.Transport(), nil
	}
}

func endpointDialer(addr string, o *Options) dialer {
	return func(ctx context.Context) (client, func(), tunnel.Transport, error) {
		conn, err := grpc.NewClient("passthrough:///"+addr, baseDialOptions(o)...)
		if err != nil {
			return nil, nil, "", err
		}
		return storeapi.Store{Client: storeapi.NewClient(conn)}, func() { conn.Close() }, "", nil
	}
}
