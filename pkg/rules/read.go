// Package rules reads the rule groups of every store that serves the Rules API and merges them
// as the Thanos Querier does: groups of the same file and name are one, and the copies of a rule
// that HA replicas evaluate are one, the most critical and most recently evaluated.
package rules

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Request selects rules as /api/v1/rules does. The stores filter by Type; the rest is ours.
type Request struct {
	Type store.RuleType
	// Matchers: a rule is kept when its labels match every matcher of one of the sets.
	Matchers                     [][]*labels.Matcher
	RuleNames, RuleGroups, Files []string
}

// Options say how to combine the stores' answers.
type Options struct {
	// PartialResponse answers from the stores that could answer, with a warning for each other.
	PartialResponse bool
	// ReplicaLabels are removed from the rules' labels before the replicas' copies are merged.
	ReplicaLabels []string
}

// Read asks every store whose Info lists the Rules API for its groups, at once, and returns
// them filtered and merged, with the stores' warnings.
func Read(ctx context.Context, stores []*fanout.Store, req Request, o Options) ([]store.RuleGroup, []error, error) {
	serves := func(s *fanout.Store) bool {
		_, ok := s.Client.(store.RulesClient)
		return ok && s.Info.Rules
	}
	answers, warnings, err := fanout.Each(ctx, stores, serves, o.PartialResponse,
		func(ctx context.Context, s *fanout.Store) ([]store.RuleGroup, []string, error) {
			resp, err := s.Client.(store.RulesClient).Rules(ctx, &store.RulesRequest{Type: req.Type})
			if err != nil {
				return nil, nil, err
			}
			return resp.Groups, resp.Warnings, nil
		})
	if err != nil {
		return nil, warnings, err
	}
	var groups []store.RuleGroup
	for _, a := range answers {
		origin := a.Store.ExternalLabelNames(o.ReplicaLabels)
		for gi := range a.Value {
			for ri := range a.Value[gi].Rules {
				r := &a.Value[gi].Rules[ri]
				r.Origin = labels.NewBuilder(r.Labels).Keep(origin...).Labels()
			}
		}
		groups = append(groups, a.Value...)
	}
	groups = filter(groups, req)
	return merge(groups, o.ReplicaLabels), warnings, nil
}

// filter keeps the rules the request asks for, and the groups left with any.
func filter(groups []store.RuleGroup, req Request) []store.RuleGroup {
	if len(req.Matchers) == 0 && len(req.RuleNames) == 0 && len(req.RuleGroups) == 0 && len(req.Files) == 0 {
		return groups
	}
	out := groups[:0]
	for _, g := range groups {
		if len(req.RuleGroups) > 0 && !slices.Contains(req.RuleGroups, g.Name) ||
			len(req.Files) > 0 && !slices.Contains(req.Files, g.File) {
			continue
		}
		kept := g.Rules[:0]
		for _, r := range g.Rules {
			if (len(req.RuleNames) == 0 || slices.Contains(req.RuleNames, r.Name)) && matches(req.Matchers, r.Labels) {
				kept = append(kept, r)
			}
		}
		if g.Rules = kept; len(kept) > 0 {
			out = append(out, g)
		}
	}
	return out
}
