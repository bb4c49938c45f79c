package serve

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/rules"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

var ruleTypes = map[string]store.RuleType{"": store.AllRules, "all": store.AllRules, "alert": store.AlertingRules, "record": store.RecordingRules}

// rulesReq reads /api/v1/rules' parameters (the Querier's, with match[] as Prometheus has it).
func rulesReq(r *http.Request) (rules.Request, *apiError) {
	typ, ok := ruleTypes[strings.ToLower(r.FormValue("type"))]
	if !ok {
		return rules.Request{}, badData("invalid rules parameter type='%v'", r.FormValue("type"))
	}
	req := rules.Request{Type: typ, RuleNames: r.Form["rule_name[]"], RuleGroups: r.Form["rule_group[]"], Files: r.Form["file[]"]}
	for _, s := range r.Form["match[]"] {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s)
		if err != nil {
			return req, badParam("match[]", err)
		}
		req.Matchers = append(req.Matchers, ms)
	}
	return req, nil
}

func (a *api) readRules(w http.ResponseWriter, r *http.Request, alertsOnly bool) ([]store.RuleGroup, []string, bool) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return nil, nil, false
	}
	defer req.cancel()
	rreq := rules.Request{Type: store.AlertingRules}
	if !alertsOnly {
		if rreq, aerr = rulesReq(r); aerr != nil {
			writeError(w, aerr)
			return nil, nil, false
		}
	}
	o := rules.Options{PartialResponse: req.q.Opts.PartialResponse}
	if req.q.Opts.Dedup {
		o.ReplicaLabels = req.q.Opts.ReplicaLabels
	}
	groups, warns, err := rules.Read(req.ctx, a.Stores, rreq, o)
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return nil, nil, false
	}
	texts := a.warningTexts(warns)
	return groups, texts, true
}

func (a *api) rules(w http.ResponseWriter, r *http.Request) {
	if groups, warns, ok := a.readRules(w, r, false); ok {
		w.Header().Set("Content-Type", "application/json")
		WriteRules(w, groups, warns)
	}
}

func (a *api) alerts(w http.ResponseWriter, r *http.Request) {
	if groups, warns, ok := a.readRules(w, r, true); ok {
		w.Header().Set("Content-Type", "application/json")
		WriteAlerts(w, groups, warns)
	}
}

// WriteRules writes groups as the Querier's /api/v1/rules answers them.
func WriteRules(w io.Writer, groups []store.RuleGroup, warns []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteRaw(`{"status":"success","data":{"groups":[`)
	for i := range groups {
		if i > 0 {
			s.WriteMore()
		}
		writeGroup(s, &groups[i])
	}
	s.WriteRaw(`]}`)
	writeWarnings(s, warns)
	s.WriteRaw("}\n")
	_, err := w.Write(s.Buffer())
	return err
}

// WriteAlerts writes the active alerts of groups' alerting rules as /api/v1/alerts does.
func WriteAlerts(w io.Writer, groups []store.RuleGroup, warns []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteRaw(`{"status":"success","data":{"alerts":[`)
	n := 0
	for _, g := range groups {
		for _, rule := range g.Rules {
			for i := range rule.Alerts {
				if n++; n > 1 {
					s.WriteMore()
				}
				writeAlert(s, &rule.Alerts[i])
			}
		}
	}
	s.WriteRaw(`]}`)
	writeWarnings(s, warns)
	s.WriteRaw("}\n")
	_, err := w.Write(s.Buffer())
	return err
}

// warningTexts are the server's own warnings and those of an answer, worded for the API.
func (a *api) warningTexts(warns []error) []string {
	texts := append([]string(nil), a.Warnings...)
	for _, w := range warns {
		texts = append(texts, failure.Word(w, Words))
	}
	return texts
}

func writeWarnings(s *jsoniter.Stream, warns []string) {
	if len(warns) == 0 {
		return
	}
	s.WriteRaw(`,"warnings":`)
	s.WriteVal(warns)
}

var strategies = [...]string{"WARN", "ABORT"}

func strategy(v int) string {
	if v >= 0 && v < len(strategies) {
		return strategies[v]
	}
	return fmt.Sprint(v)
}

// writeGroup writes a group as the Querier's rules API shows it.
func writeGroup(s *jsoniter.Stream, g *store.RuleGroup) {
	s.WriteRaw(`{"name":`)
	s.WriteString(g.Name)
	s.WriteRaw(`,"file":`)
	s.WriteString(g.File)
	s.WriteRaw(`,"rules":[`)
	for i := range g.Rules {
		if i > 0 {
			s.WriteMore()
		}
		writeRule(s, &g.Rules[i])
	}
	s.WriteRaw(`],"interval":`)
	s.WriteFloat64(g.Interval)
	s.WriteRaw(`,"evaluationTime":`)
	s.WriteFloat64(g.EvaluationTime)
	s.WriteRaw(`,"lastEvaluation":`)
	writeTime(s, g.LastEvaluation)
	s.WriteRaw(`,"limit":`)
	s.WriteInt64(g.Limit)
	s.WriteRaw(`,"partialResponseStrategy":`)
	s.WriteString(strategy(g.PartialResponseStrategy))
	s.WriteObjectEnd()
}

func writeRule(s *jsoniter.Stream, r *store.Rule) {
	s.WriteObjectStart()
	if r.Alerting {
		s.WriteRaw(`"state":`)
		s.WriteString(r.State.String())
		s.WriteMore()
	}
	s.WriteRaw(`"name":`)
	s.WriteString(r.Name)
	s.WriteRaw(`,"query":`)
	s.WriteString(r.Query)
	if r.Alerting {
		s.WriteRaw(`,"duration":`)
		s.WriteFloat64(r.Duration)
	}
	s.WriteRaw(`,"labels":`)
	output.WriteLabels(s, r.Labels)
	if r.Alerting {
		s.WriteRaw(`,"annotations":`)
		output.WriteLabels(s, r.Annotations)
		s.WriteRaw(`,"alerts":[`)
		for i := range r.Alerts {
			if i > 0 {
				s.WriteMore()
			}
			writeAlert(s, &r.Alerts[i])
		}
		s.WriteRaw(`]`)
	}
	s.WriteRaw(`,"health":`)
	s.WriteString(r.Health)
	if r.LastError != "" {
		s.WriteRaw(`,"lastError":`)
		s.WriteString(r.LastError)
	}
	s.WriteRaw(`,"evaluationTime":`)
	s.WriteFloat64(r.EvaluationTime)
	s.WriteRaw(`,"lastEvaluation":`)
	writeTime(s, r.LastEvaluation)
	if r.Alerting {
		s.WriteRaw(`,"keepFiringFor":`)
		s.WriteFloat64(r.KeepFiringFor)
		s.WriteRaw(`,"type":"alerting"}`)
		return
	}
	s.WriteRaw(`,"type":"recording"}`)
}

func writeAlert(s *jsoniter.Stream, a *store.Alert) {
	s.WriteRaw(`{"labels":`)
	output.WriteLabels(s, a.Labels)
	s.WriteRaw(`,"annotations":`)
	output.WriteLabels(s, a.Annotations)
	s.WriteRaw(`,"state":`)
	s.WriteString(a.State.String())
	if a.ActiveAt != nil {
		s.WriteRaw(`,"activeAt":`)
		writeTime(s, *a.ActiveAt)
	}
	s.WriteRaw(`,"value":`)
	s.WriteString(a.Value)
	s.WriteRaw(`,"partialResponseStrategy":`)
	s.WriteString(strategy(a.PartialResponseStrategy))
	s.WriteObjectEnd()
}

func writeTime(s *jsoniter.Stream, t time.Time) { s.WriteString(t.UTC().Format(time.RFC3339Nano)) }
