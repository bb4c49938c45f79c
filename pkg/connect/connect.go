// Package connect turns discovered pods and static endpoints into ready StoreAPI clients: it opens
// the tunnels and gRPC connections concurrently and asks each store for its Info.
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
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"k8s.io/client-go/rest"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
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
}

// StoreInfo describes a connected store for listings.
type StoreInfo struct {
	Store     *fanout.Store
	Context   string
	Namespace string
	Pod       string
	Endpoint  string // static endpoint, or "pod:port" for tunnels
	Transport tunnel.Transport
	RTT       time.Duration // of the Info call
}

// Failure is a store that could not be reached.
type Failure struct {
	Name string
	Err  error
}

func (f Failure) Error() string { return fmt.Sprintf("store %s: %s", f.Name, storeapi.Explain(f.Err)) }
func (f Failure) Unwrap() error { return f.Err }

// Set is the result of connecting: the stores that answered and the ones that did not.
type Set struct {
	Stores   []StoreInfo
	Failures []Failure

	mu      sync.Mutex
	closers []func()
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
		wg.Go(c)
	}
	wg.Wait()
	s.closers = nil
}

func (s *Set) onClose(f func()) {
	s.mu.Lock()
	s.closers = append(s.closers, f)
	s.mu.Unlock()
}

func baseDialOptions(o *Options) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
		// Notice a dead tunnel within seconds rather than hanging on a stream.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: false}),
	}
	if len(o.DialOptions) == 0 {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	return append(opts, o.DialOptions...)
}

type job struct {
	name      string
	context   string
	namespace string
	pod       string
	endpoint  string
	dial      func(context.Context) (*grpc.ClientConn, func(), tunnel.Transport, error)
}

// Connect opens every cluster's tunnels and every static endpoint at once.
func Connect(ctx context.Context, clusters []Cluster, endpoints []string, o Options) *Set {
	if o.InfoTimeout == 0 {
		o.InfoTimeout = 30 * time.Second
	}
	var jobs []job
	multi := len(clusters) > 1
	for _, c := range clusters {
		for _, t := range c.Targets {
			name := t.String()
			if multi && c.Context != "" {
				name = c.Context + "/" + name
			}
			jobs = append(jobs, job{
				name: name, context: c.Context, namespace: t.Namespace, pod: t.Pod,
				endpoint: fmt.Sprintf("%s:%d", t.Pod, t.Port),
				dial:     tunnelDialer(c.Config, t, &o),
			})
		}
	}
	for _, e := range endpoints {
		jobs = append(jobs, job{name: e, endpoint: e, dial: endpointDialer(e, &o)})
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
			set.Failures = append(set.Failures, Failure{Name: jobs[i].name, Err: fails[i]})
			continue
		}
		set.Stores = append(set.Stores, *results[i])
	}
	slices.SortFunc(set.Stores, func(a, b StoreInfo) int { return strings.Compare(a.Store.Name, b.Store.Name) })
	return set
}

func connectOne(ctx context.Context, set *Set, j job, o *Options) (*StoreInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, o.InfoTimeout)
	defer cancel()
	conn, closeFn, tr, err := j.dial(ctx)
	if err != nil {
		return nil, err
	}
	set.onClose(closeFn)
	client := storeapi.NewClient(conn)
	start := time.Now()
	info, err := client.Info(ctx)
	rtt := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	if !info.IsStore {
		return nil, errors.New("does not serve the Store API (its Info names no store)")
	}
	return &StoreInfo{
		Store:     &fanout.Store{Name: j.name, Client: client, Info: *info},
		Context:   j.context,
		Namespace: j.namespace,
		Pod:       j.pod,
		Endpoint:  j.endpoint,
		Transport: tr,
		RTT:       rtt,
	}, nil
}

func tunnelDialer(cfg *rest.Config, t discovery.Target, o *Options) func(context.Context) (*grpc.ClientConn, func(), tunnel.Transport, error) {
	return func(ctx context.Context) (*grpc.ClientConn, func(), tunnel.Transport, error) {
		tun, err := tunnel.New(cfg, t.Namespace, t.Pod, o.Tunnel)
		if err != nil {
			return nil, nil, "", err
		}
		if err := tun.Connect(ctx); err != nil {
			return nil, nil, "", explainTunnel(err, t)
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
		return conn, func() { tun.Close(); conn.Close() }, tun.Transport(), nil
	}
}

func endpointDialer(addr string, o *Options) func(context.Context) (*grpc.ClientConn, func(), tunnel.Transport, error) {
	return func(ctx context.Context) (*grpc.ClientConn, func(), tunnel.Transport, error) {
		conn, err := grpc.NewClient("passthrough:///"+addr, baseDialOptions(o)...)
		if err != nil {
			return nil, nil, "", err
		}
		return conn, func() { conn.Close() }, "", nil
	}
}
