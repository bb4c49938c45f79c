package cmd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/rules"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// RulesOptions serve `alerts` and `rules`, the counterparts of /api/v1/alerts and /api/v1/rules.
type RulesOptions struct {
	*StoreOptions
	alerts    bool
	Output    string
	Matches   []string
	State     string        // alerts: firing or pending
	Since     time.Duration // alerts: active for at most this long
	Type      string        // rules: alert or record
	Unhealthy bool          // rules: only those failing to evaluate

	matchers [][]*labels.Matcher
	now      func() time.Time
}

func newRulesCommand(so *StoreOptions, alerts bool) *cobra.Command {
	o := &RulesOptions{StoreOptions: so, alerts: alerts, Output: "table", now: time.Now}
	cmd := &cobra.Command{SilenceUsage: true, Args: cobra.NoArgs}
	if alerts {
		cmd.Use = "alerts"
		cmd.Short = "List the firing and pending alerts of every Prometheus, deduplicated, like /api/v1/alerts"
		cmd.Long = `Lists the active alerts of every store that evaluates rules, the copies an HA pair
evaluates merged as the Querier merges them (the more critical state wins: firing over pending).
Rows are grouped by the external labels of the Prometheus that raised them, most severe first
(by the severity label: critical, error, warning, info), oldest first.`
		cmd.Example = `  kubectl globalquery alerts
  kubectl globalquery alerts --state firing --match '{severity="critical"}'
  kubectl globalquery alerts --since 1h -o wide`
		cmd.Flags().StringVar(&o.State, "state", "", "Only alerts in this state: firing or pending")
		cmd.Flags().DurationVar(&o.Since, "since", 0, "Only alerts that became active within this duration, e.g. 30m")
	} else {
		cmd.Use = "rules"
		cmd.Short = "List the rule groups of every Prometheus with each rule's health, like /api/v1/rules"
		cmd.Example = `  kubectl globalquery rules
  kubectl globalquery rules --unhealthy
  kubectl globalquery rules --type record -o json`
		cmd.Flags().StringVar(&o.Type, "type", "", "Only rules of this type: alert or record")
		cmd.Flags().BoolVar(&o.Unhealthy, "unhealthy", false, "Only rules that fail to evaluate")
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, wide, json or yaml")
	cmd.Flags().StringArrayVar(&o.Matches, "match", nil, "Only rules whose labels match this selector, e.g. '{severity=\"critical\"}'; repeatable, all must match")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords("table", "wide", "json", "yaml"))
	_ = cmd.RegisterFlagCompletionFunc("match", completeSelector(so))
	if alerts {
		_ = cmd.RegisterFlagCompletionFunc("state", completeWords("firing", "pending"))
	} else {
		_ = cmd.RegisterFlagCompletionFunc("type", completeWords("alert", "record"))
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		if err := o.Validate(); err != nil {
			return err
		}
		return o.RunOver(c.Context(), o.Execute)
	}
	return cmd
}

// ruleTypes are --type's values.
var ruleTypes = map[string]store.RuleType{"": store.AllRules, "alert": store.AlertingRules, "record": store.RecordingRules}

// Validate checks the flags before anything is connected.
func (o *RulesOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "table", "wide", "json", "yaml"); err != nil {
		return err
	}
	if o.State != "" && o.State != "firing" && o.State != "pending" {
		return usageError("--state %q: want firing or pending", o.State)
	}
	if _, ok := ruleTypes[o.Type]; !ok {
		return usageError("--type %q: want alert or record", o.Type)
	}
	if o.Since < 0 {
		return usageError("--since %s: want a positive duration, e.g. --since 30m", o.Since)
	}
	o.matchers = nil
	for _, m := range o.Matches {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(m)
		if err != nil {
			return usageError("--match %q: %v", m, err)
		}
		o.matchers = append(o.matchers, ms)
	}
	return nil
}

// Execute reads the rules of connected stores and prints them.
func (o *RulesOptions) Execute(ctx context.Context, stores []*fanout.Store, warnings []string) error {
	req := rules.Request{Type: ruleTypes[o.Type], Matchers: o.matchers}
	if o.alerts {
		req.Type = store.AlertingRules
	}
	fo := o.FanoutOptions()
	ro := rules.Options{PartialResponse: fo.PartialResponse}
	if fo.Dedup {
		ro.ReplicaLabels = fo.ReplicaLabels
	}
	groups, warns, err := rules.Read(ctx, stores, req, ro)
	if err != nil {
		return inFlags(err)
	}
	for _, w := range warns {
		warnings = append(warnings, inFlags(w).Error())
	}
	groups = o.keep(groups)
	switch o.Output {
	case "json", "yaml":
		return writeDocument(o.Out, o.Output, func(w io.Writer) error {
			if o.alerts {
				return serve.WriteAlerts(w, groups, warnings)
			}
			return serve.WriteRules(w, groups, warnings)
		})
	}
	printWarnings(o.ErrOut, warnings)
	if o.alerts {
		return o.printAlerts(groups)
	}
	return o.printRules(groups)
}

// keep applies the command's own filters, which the API has no parameters for.
func (o *RulesOptions) keep(groups []store.RuleGroup) []store.RuleGroup {
	now := o.now()
	for gi := range groups {
		g := &groups[gi]
		g.Rules = slices.DeleteFunc(g.Rules, func(r store.Rule) bool { return o.Unhealthy && r.Health != "err" })
		for ri := range g.Rules {
			r := &g.Rules[ri]
			r.Alerts = slices.DeleteFunc(r.Alerts, func(a store.Alert) bool {
				return o.State != "" && a.State.String() != o.State ||
					o.Since > 0 && (a.ActiveAt == nil || now.Sub(*a.ActiveAt) > o.Since)
			})
		}
	}
	return slices.DeleteFunc(groups, func(g store.RuleGroup) bool { return len(g.Rules) == 0 })
}

// origin is where a rule runs: the values of its store's external labels.
func origin(r *store.Rule) string {
	var parts []string
	r.Origin.Range(func(l labels.Label) { parts = append(parts, l.Value) })
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

var severityRank = map[string]int{"critical": 0, "page": 0, "error": 1, "high": 1, "warning": 2, "medium": 2, "info": 3, "low": 3, "none": 5}

func severity(ls labels.Labels) int {
	if r, ok := severityRank[strings.ToLower(ls.Get("severity"))]; ok {
		return r
	}
	return 4
}

type alertRow struct {
	where string
	rule  *store.Rule
	alert *store.Alert
}

func (o *RulesOptions) printAlerts(groups []store.RuleGroup) error {
	var rows []alertRow
	for gi := range groups {
		for ri := range groups[gi].Rules {
			r := &groups[gi].Rules[ri]
			for ai := range r.Alerts {
				a := &r.Alerts[ai]
				rows = append(rows, alertRow{where: origin(r), rule: r, alert: a})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b alertRow) int {
		if c := strings.Compare(a.where, b.where); c != 0 {
			return c
		}
		if c := severity(a.alert.Labels) - severity(b.alert.Labels); c != 0 {
			return c
		}
		return activeAt(a.alert).Compare(activeAt(b.alert))
	})
	header := []string{"cluster", "alert", "state", "severity", "age", "labels"}
	if o.Output == "wide" {
		header = append(header, "value", "summary")
	}
	now := o.now()
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		a := r.alert
		age := "-"
		if a.ActiveAt != nil {
			age = shortAge(now.Sub(*a.ActiveAt))
		}
		rest := labels.NewBuilder(a.Labels).Del(labels.AlertName, "severity").Labels()
		row := []string{r.where, a.Labels.Get(labels.AlertName), a.State.String(), orDash(a.Labels.Get("severity")), age, orDash(restString(rest))}
		if o.Output == "wide" {
			row = append(row, a.Value, orDash(firstOf(a.Annotations, "summary", "description", "message")))
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		fmt.Fprintln(o.ErrOut, "No active alerts.")
		return nil
	}
	return output.WriteRows(o.Out, header, out)
}

func (o *RulesOptions) printRules(groups []store.RuleGroup) error {
	header := []string{"cluster", "group", "rule", "type", "health", "state", "last evaluation"}
	if o.Output == "wide" {
		header = append(header, "file", "query", "error")
	} else {
		header = append(header, "error")
	}
	now := o.now()
	var out [][]string
	for _, g := range groups {
		for _, r := range g.Rules {
			typ, state := "record", "-"
			if r.Alerting {
				typ, state = "alert", r.State.String()
			}
			row := []string{origin(&r), g.Name, r.Name, typ, r.Health, state, shortAge(now.Sub(r.LastEvaluation)) + " ago"}
			if o.Output == "wide" {
				row = append(row, g.File, r.Query)
			}
			out = append(out, append(row, orDash(r.LastError)))
		}
	}
	if len(out) == 0 {
		fmt.Fprintln(o.ErrOut, "No rules.")
		return nil
	}
	return output.WriteRows(o.Out, header, out)
}

func activeAt(a *store.Alert) time.Time {
	if a.ActiveAt == nil {
		return time.Time{}
	}
	return *a.ActiveAt
}

// shortAge is a duration as kubectl prints ages: 45s, 12m, 3h, 5d.
func shortAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func restString(ls labels.Labels) string {
	var parts []string
	ls.Range(func(l labels.Label) { parts = append(parts, l.Name+"="+l.Value) })
	return strings.Join(parts, ",")
}

func firstOf(ls labels.Labels, names ...string) string {
	for _, n := range names {
		if v := ls.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
