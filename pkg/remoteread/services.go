package remoteread

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// The Rules, Targets, Metadata and Exemplars APIs of a Prometheus without sidecar, read from its
// HTTP API and given its external labels as a sidecar gives them: on rules, targets and
// exemplar series, where the store's own labels win over a target's.

func (c *Client) external() labels.Labels {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ext
}

// extend adds the external labels to ls, replacing labels of the same names.
func extend(ls, ext labels.Labels) labels.Labels {
	if ext.IsEmpty() {
		return ls
	}
	b := labels.NewBuilder(ls)
	ext.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
	return b.Labels()
}

var alertStates = map[string]store.AlertState{"inactive": store.StateInactive, "pending": store.StatePending, "firing": store.StateFiring}

type apiAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    *time.Time        `json:"activeAt"`
	Value       string            `json:"value"`
}

type apiRule struct {
	Type           string            `json:"type"`
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []apiAlert        `json:"alerts"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
}

// Rules reads /api/v1/rules.
func (c *Client) Rules(ctx context.Context, r *store.RulesRequest) (*store.RulesResponse, error) {
	q := url.Values{}
	switch r.Type {
	case store.AlertingRules:
		q.Set("type", "alert")
	case store.RecordingRules:
		q.Set("type", "record")
	}
	var data struct {
		Groups []struct {
			Name           string    `json:"name"`
			File           string    `json:"file"`
			Rules          []apiRule `json:"rules"`
			Interval       float64   `json:"interval"`
			Limit          int64     `json:"limit"`
			EvaluationTime float64   `json:"evaluationTime"`
			LastEvaluation time.Time `json:"lastEvaluation"`
		} `json:"groups"`
	}
	warns, err := c.api(ctx, "/api/v1/rules", q, &data)
	if err != nil {
		return nil, err
	}
	ext := c.external()
	out := &store.RulesResponse{Warnings: warns}
	for _, g := range data.Groups {
		// A sidecar marks a group with the request's strategy, abort.
		sg := store.RuleGroup{Name: g.Name, File: g.File, Interval: g.Interval, Limit: g.Limit, EvaluationTime: g.EvaluationTime,
			LastEvaluation: g.LastEvaluation, PartialResponseStrategy: 1}
		for _, ar := range g.Rules {
			rule := store.Rule{Alerting: ar.Type == "alerting", Name: ar.Name, Query: ar.Query, Labels: extend(labels.FromMap(ar.Labels), ext),
				Health: ar.Health, LastError: ar.LastError, EvaluationTime: ar.EvaluationTime, LastEvaluation: ar.LastEvaluation,
				State: alertStates[ar.State], Duration: ar.Duration, KeepFiringFor: ar.KeepFiringFor, Annotations: labels.FromMap(ar.Annotations)}
			for _, a := range ar.Alerts {
				rule.Alerts = append(rule.Alerts, store.Alert{Labels: labels.FromMap(a.Labels), Annotations: labels.FromMap(a.Annotations),
					State: alertStates[a.State], ActiveAt: a.ActiveAt, Value: a.Value})
			}
			sg.Rules = append(sg.Rules, rule)
		}
		out.Groups = append(out.Groups, sg)
	}
	return out, nil
}

var healths = map[string]store.TargetHealth{"up": store.HealthUp, "down": store.HealthDown}

// Targets reads /api/v1/targets.
func (c *Client) Targets(ctx context.Context, state store.TargetState) (*store.TargetsResponse, error) {
	q := url.Values{"state": {[...]string{"any", "active", "dropped"}[state]}}
	var data struct {
		Active []struct {
			DiscoveredLabels   map[string]string `json:"discoveredLabels"`
			Labels             map[string]string `json:"labels"`
			ScrapePool         string            `json:"scrapePool"`
			ScrapeURL          string            `json:"scrapeUrl"`
			GlobalURL          string            `json:"globalUrl"`
			LastError          string            `json:"lastError"`
			LastScrape         time.Time         `json:"lastScrape"`
			LastScrapeDuration float64           `json:"lastScrapeDuration"`
			Health             string            `json:"health"`
		} `json:"activeTargets"`
		Dropped []struct {
			DiscoveredLabels map[string]string `json:"discoveredLabels"`
		} `json:"droppedTargets"`
	}
	warns, err := c.api(ctx, "/api/v1/targets", q, &data)
	if err != nil {
		return nil, err
	}
	ext := c.external()
	out := &store.TargetsResponse{Warnings: warns}
	for _, t := range data.Active {
		h, ok := healths[t.Health]
		if !ok {
			h = store.HealthUnknown
		}
		out.Active = append(out.Active, store.ActiveTarget{DiscoveredLabels: extend(labels.FromMap(t.DiscoveredLabels), ext),
			Labels: extend(labels.FromMap(t.Labels), ext), ScrapePool: t.ScrapePool, ScrapeURL: t.ScrapeURL, GlobalURL: t.GlobalURL,
			LastError: t.LastError, LastScrape: t.LastScrape, LastScrapeDuration: t.LastScrapeDuration, Health: h})
	}
	for _, t := range data.Dropped {
		out.Dropped = append(out.Dropped, store.DroppedTarget{DiscoveredLabels: extend(labels.FromMap(t.DiscoveredLabels), ext)})
	}
	return out, nil
}

// MetricMetadata reads /api/v1/metadata.
func (c *Client) MetricMetadata(ctx context.Context, r *store.MetadataRequest) (*store.MetadataResponse, error) {
	q := url.Values{"limit": {strconv.Itoa(r.Limit)}}
	if r.Metric != "" {
		q.Set("metric", r.Metric)
	}
	var data map[string][]struct {
		Type string `json:"type"`
		Help string `json:"help"`
		Unit string `json:"unit"`
	}
	warns, err := c.api(ctx, "/api/v1/metadata", q, &data)
	if err != nil {
		return nil, err
	}
	out := &store.MetadataResponse{Metrics: map[string][]store.Meta{}, Warnings: warns}
	for name, ms := range data {
		for _, m := range ms {
			out.Metrics[name] = append(out.Metrics[name], store.Meta{Type: m.Type, Help: m.Help, Unit: m.Unit})
		}
	}
	return out, nil
}

// Exemplars reads /api/v1/query_exemplars.
func (c *Client) Exemplars(ctx context.Context, r *store.ExemplarsRequest) (*store.ExemplarsResponse, error) {
	q := url.Values{"query": {r.Query}, "start": {apiTime(r.Start)}, "end": {apiTime(r.End)}}
	var data []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels    map[string]string `json:"labels"`
			Value     string            `json:"value"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	}
	warns, err := c.api(ctx, "/api/v1/query_exemplars", q, &data)
	if err != nil {
		return nil, err
	}
	ext := c.external()
	out := &store.ExemplarsResponse{Warnings: warns}
	for _, d := range data {
		ed := store.ExemplarData{SeriesLabels: extend(labels.FromMap(d.SeriesLabels), ext)}
		for _, e := range d.Exemplars {
			v, _ := strconv.ParseFloat(strings.TrimSpace(e.Value), 64)
			ed.Exemplars = append(ed.Exemplars, store.Exemplar{Labels: labels.FromMap(e.Labels), Value: v, Ts: int64(e.Timestamp*1000 + 0.5)})
		}
		out.Data = append(out.Data, ed)
	}
	return out, nil
}
