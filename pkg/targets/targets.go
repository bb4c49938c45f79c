// Package targets reads the scrape targets of every store that serves the Targets API and
// merges the HA replicas' copies as the Thanos Querier does: one target per scrape URL, pool and
// labels (replica labels removed), a replica that sees it down winning over one that sees it up,
// then the latest scrape.
package targets

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Options say how to combine the stores' answers.
type Options struct {
	PartialResponse bool
	// ReplicaLabels are removed from the targets' labels before the replicas' copies are merged.
	ReplicaLabels []string
}

// Read asks every store whose Info lists the Targets API for the targets in state, at once.
func Read(ctx context.Context, stores []*fanout.Store, state store.TargetState, o Options) (*store.TargetsResponse, []error, error) {
	serves := func(s *fanout.Store) bool {
		_, ok := s.Client.(store.TargetsClient)
		return ok && s.Info.Targets
	}
	answers, warnings, err := fanout.Each(ctx, stores, serves, o.PartialResponse,
		func(ctx context.Context, s *fanout.Store) (*store.TargetsResponse, []string, error) {
			resp, err := s.Client.(store.TargetsClient).Targets(ctx, state)
			if err != nil {
				return nil, nil, err
			}
			return resp, resp.Warnings, nil
		})
	if err != nil {
		return nil, warnings, err
	}
	out := &store.TargetsResponse{Active: []store.ActiveTarget{}, Dropped: []store.DroppedTarget{}}
	for _, a := range answers {
		origin := a.Store.ExternalLabelNames(o.ReplicaLabels)
		for i := range a.Value.Active {
			t := &a.Value.Active[i]
			t.Origin = labels.NewBuilder(t.Labels).Keep(origin...).Labels()
		}
		out.Active = append(out.Active, a.Value.Active...)
		out.Dropped = append(out.Dropped, a.Value.Dropped...)
	}
	out.Active = mergeActive(out.Active, o.ReplicaLabels)
	out.Dropped = mergeDropped(out.Dropped, o.ReplicaLabels)
	return out, warnings, nil
}

func identity(a, b *store.ActiveTarget) int {
	return cmp.Or(strings.Compare(a.ScrapeURL, b.ScrapeURL), strings.Compare(a.ScrapePool, b.ScrapePool),
		labels.Compare(a.DiscoveredLabels, b.DiscoveredLabels), labels.Compare(a.Labels, b.Labels))
}

// mergeActive sorts with the replica labels still on, as the Querier does, so that one target's
// copies come one after another, then compares neighbours without them.
func mergeActive(ts []store.ActiveTarget, replicaLabels []string) []store.ActiveTarget {
	if len(ts) == 0 {
		return ts
	}
	slices.SortStableFunc(ts, func(a, b store.ActiveTarget) int { return identity(&a, &b) })
	for i := range ts {
		ts[i].DiscoveredLabels = without(ts[i].DiscoveredLabels, replicaLabels)
		ts[i].Labels = without(ts[i].Labels, replicaLabels)
	}
	out := ts[:1]
	for _, t := range ts[1:] {
		last := &out[len(out)-1]
		if identity(last, &t) != 0 {
			out = append(out, t)
			continue
		}
		// Down (0) over up (1) over unknown (2); then the later scrape.
		if t.Health < last.Health || t.Health == last.Health && t.LastScrape.After(last.LastScrape) {
			*last = t
		}
	}
	return out
}

func mergeDropped(ts []store.DroppedTarget, replicaLabels []string) []store.DroppedTarget {
	if len(ts) == 0 {
		return ts
	}
	slices.SortStableFunc(ts, func(a, b store.DroppedTarget) int { return labels.Compare(a.DiscoveredLabels, b.DiscoveredLabels) })
	for i := range ts {
		ts[i].DiscoveredLabels = without(ts[i].DiscoveredLabels, replicaLabels)
	}
	out := ts[:1]
	for _, t := range ts[1:] {
		if labels.Compare(out[len(out)-1].DiscoveredLabels, t.DiscoveredLabels) != 0 {
			out = append(out, t)
		}
	}
	return out
}

func without(ls labels.Labels, names []string) labels.Labels {
	if len(names) == 0 {
		return ls
	}
	return labels.NewBuilder(ls).Del(names...).Labels()
}
