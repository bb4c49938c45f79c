// Package rules reads the rule groups of every store that serves the Rules API and merges them
// as the Thanos Querier does: groups of the same file and name are one, and the copies of a rule
// that HA replicas evaluate are one, the most critical and most recently evaluated.
package rules

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/storeapi"
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
	type answer struct {
		resp *store.RulesResponse
		err  error
	}
	var (
		asked   []*fanout.Store
		answers []answer
		wg      sync.WaitGroup
	)
	for _, s := range stores {
		if _, ok := s.Client.(store.RulesClient); ok && s.Info.Rules {
			asked = append(asked, s)
		}
	}
	answers = make([]answer, len(asked))
	for i, s := range asked {
		wg.Go(func() {
			resp, err := s.Client.(store.RulesClient).Rules(ctx, &store.RulesRequest{Type: req.Type})
			answers[i] = answer{resp, err}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var (
		groups   []store.RuleGroup
		warnings []error
		failed   []error
	)
	for i, a := range answers {
		s := asked[i]
		if a.err != nil {
			f := storeapi.Failed(s.Name, s.Kind, a.err)
			if o.PartialResponse {
				warnings = append(warnings, fanout.PartialWarning(f))
			} else {
				failed = append(failed, f)
			}
			continue
		}
		for _, w := range a.resp.Warnings {
			warnings = append(warnings, fanout.StoreWarning(s.Name, w))
		}
		external := map[string]bool{}
		for _, ls := range s.Info.LabelSets {
			ls.Range(func(l labels.Label) { external[l.Name] = !slices.Contains(o.ReplicaLabels, l.Name) })
		}
		for gi := range a.resp.Groups {
			for ri := range a.resp.Groups[gi].Rules {
				r := &a.resp.Groups[gi].Rules[ri]
				r.Origin = labels.NewBuilder(r.Labels).Keep(keys(external)...).Labels()
			}
		}
		groups = append(groups, a.resp.Groups...)
	}
	if len(failed) > 0 {
		return nil, warnings, failure.Join(failed...)
	}
	groups = filter(groups, req)
	return merge(groups, o.ReplicaLabels), warnings, nil
}

// keys are the names set true.
func keys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	return out
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
