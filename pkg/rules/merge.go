package rules

import (
	"cmp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// matches reports whether the rule's labels, those of them that are not templates, match every
// matcher of every set: the Querier applies match[] so, all sets together.
func matches(sets [][]*labels.Matcher, ls labels.Labels) bool {
	if len(sets) == 0 {
		return true
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	ls.Range(func(l labels.Label) {
		t, err := template.New("label").Parse(l.Value)
		if err == nil && len(t.Root.Nodes) == 1 && t.Root.Nodes[0].Type() == parse.NodeText {
			b.Set(l.Name, l.Value)
		}
	})
	plain := b.Labels()
	for _, ms := range sets {
		for _, m := range ms {
			if !m.Matches(plain.Get(m.Name)) {
				return false
			}
		}
	}
	return true
}

// merge joins the groups of one file and name, then within each group the copies of one rule.
func merge(groups []store.RuleGroup, replicaLabels []string) []store.RuleGroup {
	if len(groups) == 0 {
		return nil
	}
	slices.SortStableFunc(groups, func(a, b store.RuleGroup) int { return strings.Compare(a.Key(), b.Key()) })
	out := groups[:1]
	for _, g := range groups[1:] {
		last := &out[len(out)-1]
		if g.Key() == last.Key() {
			last.Rules = append(last.Rules, g.Rules...)
			continue
		}
		out = append(out, g)
	}
	for i := range out {
		out[i].Rules = mergeRules(out[i].Rules, replicaLabels)
	}
	return out
}

// mergeRules keeps one of each rule (kind, name, labels without replica labels, query, for):
// the most critical state, then the latest evaluation.
func mergeRules(rules []store.Rule, replicaLabels []string) []store.Rule {
	if len(rules) == 0 {
		return rules
	}
	for i := range rules {
		if len(replicaLabels) > 0 {
			rules[i].Labels = labels.NewBuilder(rules[i].Labels).Del(replicaLabels...).Labels()
		}
	}
	slices.SortStableFunc(rules, identity)
	out := rules[:1]
	for _, r := range rules[1:] {
		last := &out[len(out)-1]
		if identity(*last, r) != 0 {
			out = append(out, r)
			continue
		}
		if better(r, *last) {
			*last = r
		}
	}
	return out
}

// identity orders rules as the Querier does: alerting before recording, then by name, labels,
// query and for.
func identity(a, b store.Rule) int {
	if a.Alerting != b.Alerting {
		if a.Alerting {
			return -1
		}
		return 1
	}
	return cmp.Or(
		strings.Compare(a.Name, b.Name),
		labels.Compare(a.Labels, b.Labels),
		strings.Compare(a.Query, b.Query),
		cmp.Compare(a.Duration, b.Duration),
	)
}

// better reports whether copy a of a rule is to be shown rather than b: for an alerting rule, the
// more critical state first; then the one evaluated later.
func better(a, b store.Rule) bool {
	if a.Alerting && a.State != b.State {
		return a.State > b.State
	}
	return a.LastEvaluation.After(b.LastEvaluation)
}
