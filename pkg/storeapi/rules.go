package storeapi

import (
	"context"
	"fmt"

	"github.com/globalquery/kubectl-globalquery/internal/pbwire"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

const methodRules = "/thanos.Rules/Rules"

// Field numbers of thanos.RulesRequest, RulesResponse, RuleGroup, Rule, RecordingRule, Alert,
// AlertInstance and google.protobuf.Timestamp (pkg/rules/rulespb/rpc.proto).
const (
	rqType            = 1
	rqPartialResponse = 2

	rrGroup   = 1
	rrWarning = 2

	rgName           = 1
	rgFile           = 2
	rgRules          = 3
	rgInterval       = 4
	rgEvaluationTime = 5
	rgLastEvaluation = 6
	rgStrategy       = 8
	rgLimit          = 9

	ruleRecording = 1
	ruleAlert     = 2

	recName           = 1
	recQuery          = 2
	recLabels         = 3
	recHealth         = 4
	recLastError      = 5
	recEvaluationTime = 6
	recLastEvaluation = 7

	alState          = 1
	alName           = 2
	alQuery          = 3
	alDuration       = 4
	alLabels         = 5
	alAnnotations    = 6
	alAlerts         = 7
	alHealth         = 8
	alLastError      = 9
	alEvaluationTime = 10
	alLastEvaluation = 11
	alKeepFiringFor  = 12

	aiLabels      = 1
	aiAnnotations = 2
	aiState       = 3
	aiActiveAt    = 4
	aiValue       = 5
	aiStrategy    = 6
)

type rulesRequest struct{ *store.RulesRequest }

func (r rulesRequest) Marshal() []byte {
	b := pbwire.AppendVarint(nil, rqType, uint64(r.Type))
	return pbwire.AppendVarint(b, rqPartialResponse, strategyAbort)
}

// Rules reads the store's rule groups (thanos.Rules/Rules), whole.
func (c *Client) Rules(ctx context.Context, r *store.RulesRequest) (*store.RulesResponse, error) {
	out := &store.RulesResponse{}
	if err := c.readStream(ctx, methodRules, rulesRequest{r}, rulesFrame{out}); err != nil {
		return nil, err
	}
	return out, nil
}

// rulesFrame decodes one RulesResponse into the response being built.
type rulesFrame struct{ out *store.RulesResponse }

func (f rulesFrame) Unmarshal(b []byte) error {
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case rrGroup:
			if !it.WantBytes() {
				break
			}
			g, err := decodeRuleGroup(it.Val)
			if err != nil {
				return fmt.Errorf("rule group: %w", err)
			}
			f.out.Groups = append(f.out.Groups, g)
		case rrWarning:
			if it.WantBytes() {
				f.out.Warnings = append(f.out.Warnings, string(it.Val))
			}
		}
	}
	return it.Err
}

func decodeRuleGroup(b []byte) (store.RuleGroup, error) {
	var g store.RuleGroup
	it := pbwire.Iter{B: b}
	for it.Next() {
		switch it.Num {
		case rgName:
			g.Name = text(&it)
		case rgFile:
			g.File = text(&it)
		case rgRules:
			if !it.WantBytes() {
				break
			}
			r, err := decodeRule(it.Val)
			if err != nil {
				return g, err
			}
			g.Rules = append(g.Rules, r)
		case rgInterval:
			g.Interval = double(&it)
		case rgEvaluationTime:
			g.EvaluationTime = double(&it)
		case rgLastEvaluation:
			g.LastEvaluation = timestamp(&it)
		case rgLimit:
			if it.WantVarint() {
				g.Limit = int64(it.U)
			}
		case rgStrategy:
			if it.WantVarint() {
				g.PartialResponseStrategy = int(it.U)
			}
		}
	}
	return g, it.Err
}

func decodeRule(b []byte) (store.Rule, error) {
	var r store.Rule
	it := pbwire.Iter{B: b}
	for it.Next() {
		if (it.Num != ruleRecording && it.Num != ruleAlert) || !it.WantBytes() {
			continue
		}
		r.Alerting = it.Num == ruleAlert
		f := pbwire.Iter{B: it.Val}
		for f.Next() {
			if r.Alerting {
				alertField(&f, &r)
			} else {
				recordingField(&f, &r)
			}
		}
		if f.Err != nil {
			return r, f.Err
		}
	}
	return r, it.Err
}

func recordingField(f *pbwire.Iter, r *store.Rule) {
	switch f.Num {
	case recName:
		r.Name = text(f)
	case recQuery:
		r.Query = text(f)
	case recLabels:
		r.Labels = labelSet(f)
	case recHealth:
		r.Health = text(f)
	case recLastError:
		r.LastError = text(f)
	case recEvaluationTime:
		r.EvaluationTime = double(f)
	case recLastEvaluation:
		r.LastEvaluation = timestamp(f)
	}
}

func alertField(f *pbwire.Iter, r *store.Rule) {
	switch f.Num {
	case alState:
		if f.WantVarint() {
			r.State = store.AlertState(f.U)
		}
	case alName:
		r.Name = text(f)
	case alQuery:
		r.Query = text(f)
	case alDuration:
		r.Duration = double(f)
	case alLabels:
		r.Labels = labelSet(f)
	case alAnnotations:
		r.Annotations = labelSet(f)
	case alAlerts:
		if f.WantBytes() {
			r.Alerts = append(r.Alerts, decodeAlert(f))
		}
	case alHealth:
		r.Health = text(f)
	case alLastError:
		r.LastError = text(f)
	case alEvaluationTime:
		r.EvaluationTime = double(f)
	case alLastEvaluation:
		r.LastEvaluation = timestamp(f)
	case alKeepFiringFor:
		r.KeepFiringFor = double(f)
	}
}

// decodeAlert decodes the AlertInstance at f; a malformed one sets f.Err.
func decodeAlert(f *pbwire.Iter) store.Alert {
	var a store.Alert
	it := pbwire.Iter{B: f.Val}
	for it.Next() {
		switch it.Num {
		case aiLabels:
			a.Labels = labelSet(&it)
		case aiAnnotations:
			a.Annotations = labelSet(&it)
		case aiState:
			if it.WantVarint() {
				a.State = store.AlertState(it.U)
			}
		case aiActiveAt:
			t := timestamp(&it)
			a.ActiveAt = &t
		case aiValue:
			a.Value = text(&it)
		case aiStrategy:
			if it.WantVarint() {
				a.PartialResponseStrategy = int(it.U)
			}
		}
	}
	if it.Err != nil {
		f.Err = it.Err
	}
	return a
}
