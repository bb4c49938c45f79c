package stores

import (
	"context"
	"errors"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
)

// querierComponent is the component type a Thanos Querier gives in its Info.
const querierComponent = "query"

// withSelectedStores adds the pods of the Thanos services that --store-selector matches to what
// the discovery of Prometheus pods found (res, err). A cluster may have only one of the two: a
// cluster with no Prometheus service but Thanos services (or the reverse) is no error, only a
// warning; only when both are missing is the cluster not found.
func withSelectedStores(ctx context.Context, kc kubernetes.Interface, ns string, cfg *Config, res *discovery.Result, err error) (*discovery.Result, []string, error) {
	if cfg.StoreSelector == "" {
		return res, nil, err
	}
	var nf *discovery.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return res, nil, err
	}
	sres, serr := discovery.DiscoverStores(ctx, kc, ns, cfg.StoreSelector, cfg.PortName, cfg.Port)
	var snf *discovery.NotFoundError
	if serr != nil && !errors.As(serr, &snf) {
		return res, nil, serr
	}
	merged := &discovery.Result{}
	var warnings []string
	for _, r := range []*discovery.Result{res, sres} {
		if r == nil {
			continue
		}
		merged.Problems = append(merged.Problems, r.Problems...)
		for _, t := range r.Targets {
			// A selector may also match a service in front of sidecars that the Prometheus
			// discovery found already: one store per pod.
			if !slices.ContainsFunc(merged.Targets, func(m discovery.Target) bool { return m.Namespace == t.Namespace && m.Pod == t.Pod }) {
				merged.Targets = append(merged.Targets, t)
			}
		}
	}
	slices.SortFunc(merged.Targets, func(a, b discovery.Target) int { return strings.Compare(a.String(), b.String()) })
	switch {
	case err != nil && serr != nil:
		return merged, nil, errors.Join(err, serr)
	case err != nil:
		warnings = append(warnings, err.Error())
	case serr != nil:
		warnings = append(warnings, serr.Error())
	}
	return merged, warnings, nil
}

// connectAll connects the discovered clusters and the endpoints. With PreferQuerier it connects
// in two phases: first only the Thanos services the store selector found, to learn from their
// Info which is a Querier; then, only in the clusters without one, the Prometheus pods. A cluster
// with a Querier is read through one of its replicas alone (they are interchangeable), so that a
// single tunnel replaces one per Prometheus pod and store.
func connectAll(ctx context.Context, cfg *Config, found *discovered) *connect.Set {
	clusters, skipped := found.clusters, found.skipped
	if !cfg.PreferQuerier {
		set := connect.Connect(ctx, clusters, cfg.Endpoints, cfg.Connect)
		set.Failures = append(set.Failures, skipped...)
		return set
	}
	thanos := slices.Clone(clusters)
	rest := slices.Clone(clusters)
	for i, c := range clusters {
		thanos[i].Targets, rest[i].Targets = nil, nil
		for _, t := range c.Targets {
			if t.Kind == discovery.StoreAPI {
				thanos[i].Targets = append(thanos[i].Targets, t)
			} else {
				rest[i].Targets = append(rest[i].Targets, t)
			}
		}
	}
	set := connect.Connect(ctx, thanos, nil, cfg.Connect)
	querier := map[string]string{} // kube context -> the store kept for it
	for _, s := range set.Stores {
		// Stores come sorted by name: the first ready replica wins, the same on every run.
		if _, ok := querier[s.Context]; !ok && s.Store.Info.ComponentType == querierComponent {
			querier[s.Context] = s.Store.Name
		}
	}
	set.Retain(func(name, kctx string) bool {
		q, ok := querier[kctx]
		return !ok || q == name
	})
	for i := range rest {
		if _, ok := querier[rest[i].Context]; ok {
			rest[i].Targets = nil
		}
	}
	set.Merge(connect.Connect(ctx, rest, nil, cfg.Connect))
	for _, f := range skipped {
		// A Prometheus pod that is not ready does not matter where the Querier answers.
		if _, ok := querier[f.Context]; !ok {
			set.Failures = append(set.Failures, f)
		}
	}
	return set
}
