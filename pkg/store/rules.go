package store

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// RuleType selects rules by kind, as the Rules API's request type does.
type RuleType int

const (
	AllRules RuleType = iota
	AlertingRules
	RecordingRules
)

// AlertState is an alert's or alerting rule's state; higher is more critical.
type AlertState int

const (
	StateUnknown AlertState = iota
	StateInactive
	StatePending
	StateFiring
)

var stateNames = [...]string{"unknown", "inactive", "pending", "firing"}

func (s AlertState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// RulesRequest asks a store for its rule groups. The stores filter by Type only; matchers,
// names, groups and files are the reader's to apply.
type RulesRequest struct {
	Type RuleType
}

// RuleGroup is one evaluated group of rules from one rule file.
type RuleGroup struct {
	Name, File     string
	Rules          []Rule
	Interval       float64 // seconds
	EvaluationTime float64 // seconds
	LastEvaluation time.Time
	Limit          int64
	// PartialResponseStrategy is the group's, as the store reports it: 0 warn, 1 abort.
	PartialResponseStrategy int
}

// Key identifies a group across the replicas that evaluate it.
func (g *RuleGroup) Key() string { return g.File + ";" + g.Name }

// Rule is a recording rule, or an alerting rule with its active alerts.
type Rule struct {
	Alerting    bool
	Name, Query string
	Labels      labels.Labels // with the store's external labels
	// Origin are those of Labels that the store added, its external labels: where the rule runs.
	// Readers set it; the Rules API does not tell them apart.
	Origin         labels.Labels
	Health         string
	LastError      string
	EvaluationTime float64 // seconds
	LastEvaluation time.Time

	// Alerting rules only.
	State         AlertState
	Duration      float64 // the rule's for, seconds
	KeepFiringFor float64 // seconds
	Annotations   labels.Labels
	Alerts        []Alert
}

// Alert is one active alert of an alerting rule.
type Alert struct {
	Labels, Annotations labels.Labels
	State               AlertState
	ActiveAt            *time.Time
	Value               string
	// PartialResponseStrategy as the store reports it: 0 warn, 1 abort.
	PartialResponseStrategy int
}

// RulesResponse is a store's rule groups and warnings.
type RulesResponse struct {
	Groups   []RuleGroup
	Warnings []string
}

// RulesClient is a store that serves the Rules API (Info says which do).
type RulesClient interface {
	Rules(ctx context.Context, r *RulesRequest) (*RulesResponse, error)
}
