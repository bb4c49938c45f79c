package remoteread

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/prometheus/prometheus/model/labels"
	"sigs.k8s.io/yaml"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// Info reads what a sidecar would advertise for this Prometheus: its external labels, from the
// loaded configuration as the sidecar reads them, and the oldest time it holds. The labels are
// kept for the calls that follow.
func (c *Client) Info(ctx context.Context) (*store.Info, error) {
	ext, err := c.externalLabels(ctx)
	if err != nil {
		return nil, err
	}
	mint, err := c.lowestTimestamp(ctx)
	if err != nil {
		return nil, err
	}
	matchers := c.labelCallsTakeMatchers(ctx)
	c.mu.Lock()
	c.ext, c.minTime, c.labelMatchers = ext, mint, matchers
	c.mu.Unlock()
	inf := &store.Info{
		ComponentType: "prometheus", IsStore: true,
		MinTime: mint, MaxTime: math.MaxInt64,
		SupportsWithoutReplicaLabels: true,
		// Its HTTP API serves what a sidecar's other services would.
		Rules: true, Targets: true, MetricMetadata: true, Exemplars: true,
	}
	if !ext.IsEmpty() {
		inf.LabelSets = []labels.Labels{ext}
	}
	return inf, nil
}

func (c *Client) externalLabels(ctx context.Context) (labels.Labels, error) {
	var cfg struct {
		YAML string `json:"yaml"`
	}
	if _, err := c.api(ctx, "/api/v1/status/config", nil, &cfg); err != nil {
		return labels.EmptyLabels(), err
	}
	var parsed struct {
		Global struct {
			ExternalLabels map[string]string `json:"external_labels"`
		} `json:"global"`
	}
	if err := yaml.Unmarshal([]byte(cfg.YAML), &parsed); err != nil {
		return labels.EmptyLabels(), fmt.Errorf("configuration of %s: %w", c.where(), err)
	}
	return labels.FromMap(parsed.Global.ExternalLabels), nil
}

// lowestTimestamp is the TSDB's oldest time, from the gauge the sidecar reads too (it holds the
// oldest block's start, or the head's when there is no block yet). The millisecond gauge is read
// rather than the sidecar's seconds one, which is the same value divided by 1000. With no data at
// all the head's start is the largest int64: then the store is kept for every range, as the
// sidecar does, since samples may arrive at any time.
func (c *Client) lowestTimestamp(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, c.explain("metrics", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics of %s: %s", c.where(), resp.Status)
	}
	ms, secs := math.NaN(), math.NaN()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := gauge(line, "prometheus_tsdb_lowest_timestamp"); ok {
			ms = v
		} else if v, ok := gauge(line, "prometheus_tsdb_lowest_timestamp_seconds"); ok {
			secs = v * 1000
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("metrics of %s: %w", c.where(), err)
	}
	v := ms
	if math.IsNaN(v) {
		v = secs
	}
	switch {
	case math.IsNaN(v):
		return 0, fmt.Errorf("metrics of %s: no prometheus_tsdb_lowest_timestamp; is this a Prometheus server with a local TSDB?", c.where())
	case v >= math.MaxInt64:
		return math.MinInt64, nil
	}
	return int64(v), nil
}

// gauge parses `name value` lines of the text exposition format.
func gauge(line, name string) (float64, bool) {
	rest, ok := strings.CutPrefix(line, name)
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
		return 0, false
	}
	if rest != "" && rest[0] == '{' {
		i := strings.IndexByte(rest, '}')
		if i < 0 {
			return 0, false
		}
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

var matchersSince = semver.MustParse("2.24.0")

// labelCallsTakeMatchers decides, as the sidecar does, whether label lookups with matchers go to
// the label APIs or to the series API: only a version that parses as semver and is at least 2.24
// is trusted with match[]. The answers differ where they matter: the label APIs answer from
// whole blocks and the head, the series API from the series themselves.
func (c *Client) labelCallsTakeMatchers(ctx context.Context) bool {
	var bi struct {
		Version string `json:"version"`
	}
	if _, err := c.api(ctx, "/api/v1/status/buildinfo", nil, &bi); err != nil {
		return false
	}
	v, err := semver.Parse(bi.Version)
	return err == nil && v.GTE(matchersSince)
}

// seriesLabels is the sidecar's way to list labels with matchers on an older (or unversioned)
// Prometheus: the label sets of the matching series.
func (c *Client) seriesLabels(ctx context.Context, q url.Values) ([]map[string]string, []string, error) {
	var series []map[string]string
	warns, err := c.api(ctx, "/api/v1/series", q, &series)
	return series, warns, err
}

// LabelNames asks the labels API, as the sidecar does, and adds the external label names.
func (c *Client) LabelNames(ctx context.Context, r *store.LabelsRequest) (*store.LabelsResponse, error) {
	ext, _ := c.state()
	ok, ms := splitMatchers(r.Matchers, ext)
	if !ok {
		return &store.LabelsResponse{}, nil
	}
	var (
		names []string
		warns []string
		err   error
	)
	if len(ms) > 0 && !c.matchersOK() {
		var series []map[string]string
		series, warns, err = c.seriesLabels(ctx, labelsQuery(ms, r))
		for _, s := range series {
			for n := range s {
				names = append(names, n)
			}
		}
	} else {
		warns, err = c.api(ctx, "/api/v1/labels", labelsQuery(ms, r), &names)
	}
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		ext.Range(func(l labels.Label) {
			if !slices.Contains(r.WithoutReplicaLabels, l.Name) {
				names = append(names, l.Name)
			}
		})
		slices.Sort(names)
		names = slices.Compact(names)
	}
	return &store.LabelsResponse{Values: names, Warnings: warns}, nil
}

// LabelValues asks the label values API; an external label's value comes from the external
// labels, present when some series matches, as the sidecar answers.
func (c *Client) LabelValues(ctx context.Context, r *store.LabelsRequest) (*store.LabelsResponse, error) {
	if r.Label == "" {
		return nil, fmt.Errorf("rejected the request: label name parameter cannot be empty")
	}
	if slices.Contains(r.WithoutReplicaLabels, r.Label) {
		return &store.LabelsResponse{}, nil
	}
	ext, _ := c.state()
	ok, ms := splitMatchers(r.Matchers, ext)
	if !ok {
		return &store.LabelsResponse{}, nil
	}
	q := labelsQuery(ms, r)
	if v := ext.Get(r.Label); v != "" {
		if len(ms) == 0 {
			return &store.LabelsResponse{Values: []string{v}}, nil
		}
		// One series proves the value is there; Prometheus's warning that it cut the list at one
		// is about this request, not about the answer.
		q.Set("limit", "1")
		var series []map[string]string
		warns, err := c.api(ctx, "/api/v1/series", q, &series)
		warns = slices.DeleteFunc(warns, func(w string) bool { return strings.Contains(w, "truncated due to limit") })
		if err != nil || len(series) == 0 {
			return &store.LabelsResponse{Warnings: warns}, err
		}
		return &store.LabelsResponse{Values: []string{v}, Warnings: warns}, nil
	}
	var (
		vals  []string
		warns []string
		err   error
	)
	if len(ms) > 0 && !c.matchersOK() {
		var series []map[string]string
		series, warns, err = c.seriesLabels(ctx, q)
		for _, s := range series {
			if v, ok := s[r.Label]; ok {
				vals = append(vals, v)
			}
		}
	} else {
		warns, err = c.api(ctx, "/api/v1/label/"+url.PathEscape(r.Label)+"/values", q, &vals)
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	return &store.LabelsResponse{Values: vals, Warnings: warns}, nil
}

func labelsQuery(ms []*labels.Matcher, r *store.LabelsRequest) url.Values {
	q := url.Values{}
	if len(ms) > 0 {
		parts := make([]string, len(ms))
		for i, m := range ms {
			parts[i] = m.String()
		}
		q.Set("match[]", "{"+strings.Join(parts, ",")+"}")
	}
	// Left out at the extremes: Prometheus then uses its own bounds.
	if r.Start > math.MinInt64/2 {
		q.Set("start", apiTime(r.Start))
	}
	if r.End < math.MaxInt64/2 {
		q.Set("end", apiTime(r.End))
	}
	if r.Limit > 0 {
		q.Set("limit", strconv.FormatInt(r.Limit, 10))
	}
	return q
}

// apiTime renders milliseconds as the API's seconds, exactly.
func apiTime(ms int64) string {
	s, f := ms/1000, ms%1000
	if f < 0 {
		s, f = s-1, f+1000
	}
	return fmt.Sprintf("%d.%03d", s, f)
}

// api GETs a Prometheus HTTP API endpoint and decodes its data into out.
func (c *Client) api(ctx context.Context, path string, q url.Values, out any) ([]string, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.explain(path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.explain(path, err)
	}
	var r struct {
		Status   string          `json:"status"`
		Error    string          `json:"error"`
		Data     json.RawMessage `json:"data"`
		Warnings []string        `json:"warnings"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s of %s: HTTP %s, not an API answer: %.200s", path, c.where(), resp.Status, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s of %s: %s", path, c.where(), r.Error)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return nil, fmt.Errorf("%s of %s: %w", path, c.where(), err)
	}
	return r.Warnings, nil
}

func (c *Client) matchersOK() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.labelMatchers
}

func (c *Client) where() string { return strings.TrimPrefix(c.base, "http://") }
