package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// apiResponse is the body of a Prometheus-compatible /api/v1/query(_range) response.
type apiResponse struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
	raw []byte // the whole body
}

type apiSeries struct {
	Metric     map[string]string `json:"metric"`
	Value      []any             `json:"value"`
	Values     [][]any           `json:"values"`
	Histogram  []any             `json:"histogram"`
	Histograms [][]any           `json:"histograms"`
}

// point is one timestamp with its value rendered canonically (a float, or a histogram's JSON).
type point struct {
	t float64
	v string
}

type series struct {
	key    string
	points []point
}

func metricKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

func toPoint(pair []any) point {
	ts, _ := pair[0].(float64)
	switch v := pair[1].(type) {
	case string:
		return point{ts, v}
	default:
		b, _ := json.Marshal(v)
		return point{ts, string(b)}
	}
}

// parseResult flattens a result into series in the order the API returned them.
func parseResult(t testing.TB, r *apiResponse) []series {
	t.Helper()
	switch r.Data.ResultType {
	case "scalar", "string":
		var pair []any
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			t.Fatal(err)
		}
		return []series{{key: "", points: []point{toPoint(pair)}}}
	}
	var ss []apiSeries
	if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
		t.Fatalf("result: %v", err)
	}
	out := make([]series, 0, len(ss))
	for _, s := range ss {
		x := series{key: metricKey(s.Metric)}
		if s.Value != nil {
			x.points = append(x.points, toPoint(s.Value))
		}
		if s.Histogram != nil {
			x.points = append(x.points, toPoint(s.Histogram))
		}
		for _, v := range s.Values {
			x.points = append(x.points, toPoint(v))
		}
		for _, h := range s.Histograms {
			x.points = append(x.points, toPoint(h))
		}
		slices.SortStableFunc(x.points, func(a, b point) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return 0
		})
		out = append(out, x)
	}
	return out
}

// sameValue compares sample values: equal within 1e-9 relative, NaN equal to NaN; histograms
// (rendered as JSON) by text.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea != nil || eb != nil {
		return false
	}
	if math.IsNaN(fa) || math.IsNaN(fb) {
		return math.IsNaN(fa) && math.IsNaN(fb)
	}
	if math.IsInf(fa, 0) || math.IsInf(fb, 0) {
		return fa == fb
	}
	diff := math.Abs(fa - fb)
	return diff <= 1e-9*math.Max(math.Abs(fa), math.Abs(fb)) || diff < 1e-12
}

// diffResults returns "" when ours equals the oracle's, else a description of the first
// difference. ordered compares series order too (sort, topk...).
func diffResults(t testing.TB, ours, oracle *apiResponse, ordered bool) string {
	t.Helper()
	if ours.Data.ResultType != oracle.Data.ResultType {
		return fmt.Sprintf("result type %s, oracle %s", ours.Data.ResultType, oracle.Data.ResultType)
	}
	a, b := parseResult(t, ours), parseResult(t, oracle)
	if !ordered {
		cmp := func(x, y series) int { return strings.Compare(x.key, y.key) }
		slices.SortFunc(a, cmp)
		slices.SortFunc(b, cmp)
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		switch {
		case i >= len(a):
			return fmt.Sprintf("%d series, oracle %d; first missing: %s", len(a), len(b), b[i].key)
		case i >= len(b):
			return fmt.Sprintf("%d series, oracle %d; first extra: %s", len(a), len(b), a[i].key)
		case a[i].key != b[i].key:
			return fmt.Sprintf("series %d is %s, oracle has %s", i, a[i].key, b[i].key)
		}
		pa, pb := a[i].points, b[i].points
		for j := 0; j < max(len(pa), len(pb)); j++ {
			switch {
			case j >= len(pa):
				return fmt.Sprintf("%s: %d points, oracle %d; first missing at %.3f", a[i].key, len(pa), len(pb), pb[j].t)
			case j >= len(pb):
				return fmt.Sprintf("%s: %d points, oracle %d; first extra at %.3f", a[i].key, len(pa), len(pb), pa[j].t)
			case pa[j].t != pb[j].t:
				return fmt.Sprintf("%s: point %d at %.3f, oracle at %.3f", a[i].key, j, pa[j].t, pb[j].t)
			case !sameValue(pa[j].v, pb[j].v):
				return fmt.Sprintf("%s at %.3f: %s, oracle %s", a[i].key, pa[j].t, pa[j].v, pb[j].v)
			}
		}
	}
	return ""
}

// oracle asks the Thanos Querier. A query the Querier rejects comes back with Status "error".
func oracle(t testing.TB, path string, params url.Values) *apiResponse {
	t.Helper()
	resp, err := http.Get(theBed.QuerierHTTP + path + "?" + params.Encode())
	if err != nil {
		t.Fatalf("querier: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := apiResponse{raw: body}
	if err := json.Unmarshal(body, &r); err != nil && !strings.HasPrefix(path, "/api/v1/series") && !strings.HasPrefix(path, "/api/v1/label") {
		t.Fatalf("querier answer %q: %v", body, err)
	}
	if r.Status != "success" && r.Error == "" {
		t.Fatalf("querier: status %q without an error", r.Status)
	}
	return &r
}

func decode(t testing.TB, body []byte) *apiResponse {
	t.Helper()
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("our answer %q: %v", body, err)
	}
	return &r
}
