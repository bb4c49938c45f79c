package stores

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/tunnel"
)

// discovered is what discovery found in every context asked, in the order asked.
type discovered struct {
	clusters []connect.Cluster
	// skipped are pods found that cannot serve (not ready): stores missing from the answer as
	// one that cannot be reached is.
	skipped       []connect.Failure
	warnings      []Warning
	replicaLabels []string // from the Prometheus objects, unsorted
}

// contextResult is one context's discovery.
type contextResult struct {
	cluster       connect.Cluster
	skipped       []connect.Failure
	warnings      []Warning
	replicaLabels []string
	err           error
}

// discover finds every context's targets. The contexts are read at once: each is a few round
// trips to its own API server, often far away, so that one slow region does not add to the others.
func discover(ctx context.Context, cfg *Config) (*discovered, error) {
	if err := checkKubeconfig(cfg.Kube); err != nil {
		return nil, err
	}
	names, err := contexts(cfg)
	if err != nil {
		return nil, err
	}
	// The REST configs come first, one after another: the kubeconfig is read through the shared
	// flags, and a broken one fails before any request.
	clusters := make([]connect.Cluster, len(names))
	kctxs := make([]string, len(names))
	for i, name := range names {
		kctxs[i] = contextName(cfg.Kube, name)
		if name != "" {
			cfg.Kube.Context = &name
		}
		rc, err := cfg.Kube.ToRESTConfig()
		cfg.Kube.Context = nil
		if err != nil {
			return nil, explainKubeconfig(err)
		}
		clusters[i] = connect.Cluster{Context: name, Config: rc, Qualified: name != "" && len(names) > 1}
	}
	ns := ""
	if cfg.Kube.Namespace != nil {
		ns = *cfg.Kube.Namespace
	}
	results := make([]contextResult, len(names))
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() { results[i] = discoverContext(ctx, cfg, clusters[i], kctxs[i], ns) })
	}
	wg.Wait()

	out := &discovered{}
	var notFound []error
	for _, r := range results {
		out.warnings = append(out.warnings, r.warnings...)
		for _, l := range r.replicaLabels {
			if !slices.Contains(out.replicaLabels, l) {
				out.replicaLabels = append(out.replicaLabels, l)
			}
		}
		out.skipped = append(out.skipped, r.skipped...)
		var nf *discovery.NotFoundError
		if errors.As(r.err, &nf) && len(names) > 1 {
			notFound = append(notFound, r.err)
			continue
		}
		if r.err != nil {
			return out, r.err
		}
		out.clusters = append(out.clusters, r.cluster)
	}
	if len(out.clusters) == 0 && len(notFound) > 0 {
		return out, errors.Join(notFound...)
	}
	for _, e := range notFound {
		out.warnings = append(out.warnings, Warning{Message: e.Error()})
	}
	return out, nil
}

// discoverContext finds one context's targets and, unless the user named them, the replica
// labels its Prometheus objects declare.
func discoverContext(ctx context.Context, cfg *Config, c connect.Cluster, kctx, ns string) contextResult {
	r := contextResult{cluster: c}
	prefix := c.Prefix()
	fail := func(err error) contextResult {
		var lost *discovery.ConnectionLostError
		if errors.As(err, &lost) {
			// It names the context itself.
			r.err = ExplainAPIServer(err, c.Config.Host)
		} else {
			r.err = fmt.Errorf("%s%w", prefix, ExplainAPIServer(err, c.Config.Host))
		}
		return r
	}
	// Discovery makes a handful of small requests; client-go's default 5/s would queue them.
	dcfg := rest.CopyConfig(c.Config)
	dcfg.QPS, dcfg.Burst = 50, 100
	// The tunnels opened next resume the TLS session of these requests.
	tunnel.ShareSessions(dcfg)
	// A cut connection fails discovery at once, naming the API server, rather than after
	// client-go's retries with a bare network error.
	discovery.FailFast(dcfg, kctx)
	kc, err := kubernetes.NewForConfig(dcfg)
	if err != nil {
		r.err = err
		return r
	}
	if cfg.ReplicaLabels == nil {
		if dc, err := dynamic.NewForConfig(dcfg); err == nil {
			if ol := discovery.ReadOperatorLabels(ctx, dc, ns); ol != nil {
				r.replicaLabels = ol.Replica
			}
		}
	}
	res, err := discovery.Discover(ctx, kc, discovery.Options{
		Namespace: ns, Service: cfg.Service, Selector: cfg.Selector, PortName: cfg.PortName, Port: cfg.Port,
		PreferRemoteRead: cfg.PreferRemoteRead,
	})
	res, more, err := withSelectedStores(ctx, kc, ns, cfg, res, err)
	warnCtx := ""
	if c.Qualified {
		warnCtx = c.Context
	}
	for _, w := range more {
		r.warnings = append(r.warnings, Warning{Context: warnCtx, Message: w})
	}
	if res != nil {
		for _, p := range res.Problems {
			if p.Pod == "" {
				r.warnings = append(r.warnings, Warning{Context: warnCtx, Message: p.Error()})
				continue
			}
			r.skipped = append(r.skipped, connect.Failure{Name: c.StoreName(p.Namespace, p.Pod), Context: c.Context, Err: p.Err})
		}
	}
	var nf *discovery.NotFoundError
	if errors.As(err, &nf) {
		r.err = fmt.Errorf("%s%w", prefix, err)
		return r
	}
	if err != nil {
		return fail(err)
	}
	r.cluster.Targets = res.Targets
	return r
}
