package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// grafanaCall is one request as Grafana's Prometheus data source sends it, and the shape of the
// data it reads from the answer.
type grafanaCall struct {
	why, method, path string
	form              url.Values
	shape             func(data json.RawMessage) bool
}

func isArray(d json.RawMessage) bool  { return strings.HasPrefix(strings.TrimSpace(string(d)), "[") }
func isObject(d json.RawMessage) bool { return strings.HasPrefix(strings.TrimSpace(string(d)), "{") }

func hasResultType(t string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var v struct {
			ResultType string `json:"resultType"`
		}
		return json.Unmarshal(d, &v) == nil && v.ResultType == t
	}
}

func hasKey(k string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var v map[string]json.RawMessage
		return json.Unmarshal(d, &v) == nil && v[k] != nil
	}
}

// Grafana's calls, replayed as it sends them (its health check, the probes it makes when a data
// source is saved or a dashboard opens, autocomplete, queries by POST as it sends them by
// default), are all answered with 200 and the data in the shape Grafana reads.
func TestGrafanaCalls(t *testing.T) {
	srv := startServe(t, "--kubeconfig="+theBed.Kubeconfig)
	end := secs(theBed.HistoryEnd)
	start := secs(theBed.HistoryEnd - 3600_000)
	span := func(v url.Values) url.Values {
		v.Set("start", start)
		v.Set("end", end)
		return v
	}
	calls := []grafanaCall{
		{"health check", http.MethodGet, "/api/v1/query", url.Values{"query": {"1+1"}, "time": {end}}, hasResultType("scalar")},
		{"build info, to pick the API features", http.MethodGet, "/api/v1/status/buildinfo", nil, hasKey("version")},
		{"rules, for the data source's alerting", http.MethodGet, "/api/v1/rules", nil, hasKey("groups")},
		{"alerts", http.MethodGet, "/api/v1/alerts", nil, hasKey("alerts")},
		{"exemplars probe", http.MethodGet, "/api/v1/query_exemplars", span(url.Values{"query": {"http_requests_total"}}), isArray},
		{"metadata, for autocomplete", http.MethodGet, "/api/v1/metadata", nil, isObject},
		{"metric names", http.MethodGet, "/api/v1/label/__name__/values", span(url.Values{}), isArray},
		{"metric names matching", http.MethodGet, "/api/v1/label/__name__/values", span(url.Values{"match[]": {`{job="api"}`}}), isArray},
		{"label names", http.MethodGet, "/api/v1/labels", span(url.Values{}), isArray},
		{"label names of a metric", http.MethodGet, "/api/v1/labels", span(url.Values{"match[]": {"http_requests_total"}}), isArray},
		{"label values of a metric", http.MethodGet, "/api/v1/label/job/values", span(url.Values{"match[]": {"http_requests_total"}}), isArray},
		{"series of a metric", http.MethodGet, "/api/v1/series", span(url.Values{"match[]": {"up"}}), isArray},
		{"a panel's range query", http.MethodPost, "/api/v1/query_range", span(url.Values{"query": {"sum by (cluster) (rate(http_requests_total[5m]))"}, "step": {"60"}}), hasResultType("matrix")},
		{"a table panel's instant query", http.MethodPost, "/api/v1/query", url.Values{"query": {"up"}, "time": {end}}, hasResultType("vector")},
		{"the query editor's format", http.MethodPost, "/api/v1/format_query", url.Values{"query": {"sum(rate(x[5m]))by(job)"}}, func(d json.RawMessage) bool { return strings.Contains(string(d), "sum by (job)") }},
	}
	client := &http.Client{}
	for _, c := range calls {
		var req *http.Request
		var err error
		if c.method == http.MethodPost {
			req, err = http.NewRequest(c.method, srv.url+c.path, strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, err = http.NewRequest(c.method, srv.url+c.path+"?"+c.form.Encode(), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.why, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct {
			Status string          `json:"status"`
			Data   json.RawMessage `json:"data"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || r.Status != "success" || !c.shape(r.Data) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %s %s: %d %.500s", c.why, c.method, c.path, resp.StatusCode, body)
			continue
		}
		t.Logf("%-40s %-4s %s?%s: 200", c.why, c.method, c.path, c.form.Encode())
	}
}
