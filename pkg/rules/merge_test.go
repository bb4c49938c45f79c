package rules

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// The copies of a group that HA replicas evaluate are one group; of a rule's copies the most
// critical state is kept, then the latest evaluation; rules that differ in anything the Querier
// compares stay apart.
func TestMergeAsTheQuerier(t *testing.T) {
	t0 := time.Unix(1000, 0)
	alert := func(replica string, st store.AlertState, at time.Time) store.Rule {
		return store.Rule{Alerting: true, Name: "Up", Query: "up == 0", State: st, LastEvaluation: at,
			Labels: labels.FromStrings("cluster", "eu", "replica", replica)}
	}
	rec := func(replica string, at time.Time) store.Rule {
		return store.Rule{Name: "job:up", Query: "sum(up)", LastEvaluation: at, Labels: labels.FromStrings("cluster", "eu", "replica", replica)}
	}
	groups := []store.RuleGroup{
		{Name: "g", File: "f", Rules: []store.Rule{rec("0", t0.Add(2*time.Second)), alert("0", store.StatePending, t0.Add(5*time.Second))}},
		{Name: "other", File: "f", Rules: []store.Rule{rec("0", t0)}},
		{Name: "g", File: "f", Rules: []store.Rule{alert("1", store.StateFiring, t0), rec("1", t0.Add(3*time.Second))}},
	}
	got := merge(groups, []string{"replica"})
	if len(got) != 2 || got[0].Key() != "f;g" || got[1].Key() != "f;other" {
		t.Fatalf("groups %+v", got)
	}
	g := got[0].Rules
	if len(g) != 2 || !g[0].Alerting || g[1].Alerting {
		t.Fatalf("rules of f;g: %+v", g)
	}
	if g[0].State != store.StateFiring {
		t.Errorf("alert kept %s, want firing over a later pending", g[0].State)
	}
	if !g[1].LastEvaluation.Equal(t0.Add(3*time.Second)) || g[1].Labels.Has("replica") {
		t.Errorf("recording rule kept %+v, want the latest, without its replica label", g[1])
	}

	// Without replica labels to remove, each replica's copy is its own rule.
	groups = []store.RuleGroup{{Name: "g", File: "f", Rules: []store.Rule{rec("0", t0), rec("1", t0)}}}
	if got := merge(groups, nil); len(got[0].Rules) != 2 {
		t.Errorf("without dedup: %d rules, want 2", len(got[0].Rules))
	}
	// A different for is a different rule.
	a, b := alert("0", store.StateFiring, t0), alert("1", store.StateFiring, t0)
	b.Duration = 60
	groups = []store.RuleGroup{{Name: "g", File: "f", Rules: []store.Rule{a, b}}}
	if got := merge(groups, []string{"replica"}); len(got[0].Rules) != 2 {
		t.Errorf("rules with another for merged: %+v", got[0].Rules)
	}
}

// match[] keeps a rule when every matcher of every set matches its labels that are not templates.
func TestMatchers(t *testing.T) {
	sev := labels.MustNewMatcher(labels.MatchEqual, "severity", "critical")
	team := labels.MustNewMatcher(labels.MatchEqual, "team", "db")
	ls := labels.FromStrings("severity", "critical", "team", "{{ $labels.team }}")
	if !matches([][]*labels.Matcher{{sev}}, ls) {
		t.Error("severity=critical does not match")
	}
	if matches([][]*labels.Matcher{{sev}, {team}}, ls) {
		t.Error("a templated label matched")
	}
}
