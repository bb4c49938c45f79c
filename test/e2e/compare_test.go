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
	"time"
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
	out, err := readSeries(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readSeries is parseResult for callers that must not stop the test, such as worker goroutines.
func readSeries(r *apiResponse) ([]series, error) {
	switch r.Data.ResultType {
	case "scalar", "string":
		var pair []any
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			return nil, fmt.Errorf("%s result: %w", r.Data.ResultType, err)
		}
		return []series{{key: "", points: []point{toPoint(pair)}}}, nil
	}
	var ss []apiSeries
	if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
		return nil, fmt.Errorf("result: %w", err)
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
	return out, nil
}

// sameValue compares sample values: equal within 1e-9 relative, NaN equal to NaN; histograms
// (rendered as JSON) field by field with the same tolerance.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	if strings.HasPrefix(a, "{") || strings.HasPrefix(b, "{") {
		return sameHistogram(a, b)
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

// apiHistogram is a native histogram as the API renders it: count and sum as strings, and buckets
// as [boundary rule, lower, upper, count].
type apiHistogram struct {
	Count   string  `json:"count"`
	Sum     string  `json:"sum"`
	Buckets [][]any `json:"buckets"`
}

// sameHistogram compares rendered histograms: the same buckets (boundaries exactly, as both
// sides derive them from the schema) with counts, count and sum equal as sameValue has it.
func sameHistogram(a, b string) bool {
	var ha, hb apiHistogram
	if json.Unmarshal([]byte(a), &ha) != nil || json.Unmarshal([]byte(b), &hb) != nil {
		return false
	}
	if !sameValue(ha.Count, hb.Count) || !sameValue(ha.Sum, hb.Sum) || len(ha.Buckets) != len(hb.Buckets) {
		return false
	}
	for i := range ha.Buckets {
		x, y := ha.Buckets[i], hb.Buckets[i]
		if len(x) != 4 || len(y) != 4 || fmt.Sprint(x[:3]) != fmt.Sprint(y[:3]) {
			return false
		}
		cx, _ := x[3].(string)
		cy, _ := y[3].(string)
		if !sameValue(cx, cy) {
			return false
		}
	}
	return true
}

// diffResults returns "" when ours equals the oracle's, else a description of the first
// difference. ordered compares series order too (sort, topk...).
func diffResults(t testing.TB, ours, oracle *apiResponse, ordered bool) string {
	t.Helper()
	return describeDiff(ours, oracle, ordered)
}

// describeDiff is diffResults without a testing.TB, for worker goroutines. With ordered, the
// values must come in the same order; series whose values tie may come in either order, as
// PromQL leaves that open (sort and topk order by value only).
func describeDiff(ours, oracle *apiResponse, ordered bool) string {
	if ours.Data.ResultType != oracle.Data.ResultType {
		return fmt.Sprintf("result type %s, oracle %s", ours.Data.ResultType, oracle.Data.ResultType)
	}
	a, err := readSeries(ours)
	if err != nil {
		return "our answer: " + err.Error()
	}
	b, err := readSeries(oracle)
	if err != nil {
		return "oracle answer: " + err.Error()
	}
	if ordered {
		for i := range min(len(a), len(b)) {
			va, vb := firstValue(a[i]), firstValue(b[i])
			if !sameValue(va, vb) {
				return fmt.Sprintf("out of order: position %d holds %s = %s, oracle has %s = %s", i, a[i].key, va, b[i].key, vb)
			}
		}
	}
	cmp := func(x, y series) int { return strings.Compare(x.key, y.key) }
	slices.SortStableFunc(a, cmp)
	slices.SortStableFunc(b, cmp)
	for i := 0; i < max(len(a), len(b)); i++ {
		switch {
		case i >= len(a):
			return fmt.Sprintf("%d series, oracle %d; first missing: %s (oracle %s)", len(a), len(b), b[i].key, firstPoint(b[i]))
		case i >= len(b):
			return fmt.Sprintf("%d series, oracle %d; first extra: %s (ours %s)", len(a), len(b), a[i].key, firstPoint(a[i]))
		case a[i].key < b[i].key:
			return fmt.Sprintf("%d series, oracle %d; extra: %s (ours %s)", len(a), len(b), a[i].key, firstPoint(a[i]))
		case a[i].key > b[i].key:
			return fmt.Sprintf("%d series, oracle %d; missing: %s (oracle %s)", len(a), len(b), b[i].key, firstPoint(b[i]))
		}
		if d := diffPoints(a[i].points, b[i].points); d != "" {
			return a[i].key + " " + d
		}
	}
	return ""
}

// diffPoints describes the first time at which two series disagree: a value on one side only,
// or two different values.
func diffPoints(pa, pb []point) string {
	i, j := 0, 0
	for i < len(pa) || j < len(pb) {
		switch {
		case j >= len(pb) || (i < len(pa) && pa[i].t < pb[j].t):
			return fmt.Sprintf("at %s: ours %s, oracle none (%d points, oracle %d)", when(pa[i].t), pa[i].v, len(pa), len(pb))
		case i >= len(pa) || pb[j].t < pa[i].t:
			return fmt.Sprintf("at %s: ours none, oracle %s (%d points, oracle %d)", when(pb[j].t), pb[j].v, len(pa), len(pb))
		case !sameValue(pa[i].v, pb[j].v):
			return fmt.Sprintf("at %s: ours %s, oracle %s", when(pa[i].t), pa[i].v, pb[j].v)
		}
		i++
		j++
	}
	return ""
}

func firstValue(s series) string {
	if len(s.points) == 0 {
		return ""
	}
	return s.points[0].v
}

func firstPoint(s series) string {
	if len(s.points) == 0 {
		return "no points"
	}
	return fmt.Sprintf("%s at %s, %d points", s.points[0].v, when(s.points[0].t), len(s.points))
}

// when renders an API timestamp both as the API has it and readably.
func when(t float64) string {
	return fmt.Sprintf("%.3f (%s)", t, time.UnixMilli(int64(math.Round(t*1000))).UTC().Format("15:04:05"))
}

// oracle asks the Thanos Querier. A query the Querier rejects comes back with Status "error".
func oracle(t testing.TB, path string, params url.Values) *apiResponse {
	t.Helper()
	r, err := askOracle(path, params)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var oracleClient = &http.Client{Timeout: 2 * time.Minute}

// askOracle is oracle for callers that must not stop the test, such as worker goroutines.
func askOracle(path string, params url.Values) (*apiResponse, error) {
	return askOracleAt(theBed.QuerierHTTP, path, params)
}

// askOracleAt is askOracle for the Querier at base.
func askOracleAt(base, path string, params url.Values) (*apiResponse, error) {
	resp, err := oracleClient.Get(base + path + "?" + params.Encode())
	if err != nil {
		return nil, fmt.Errorf("querier: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("querier: %w", err)
	}
	r := apiResponse{raw: body}
	if err := json.Unmarshal(body, &r); err != nil && !strings.HasPrefix(path, "/api/v1/series") && !strings.HasPrefix(path, "/api/v1/label") {
		return nil, fmt.Errorf("querier answer %q: %w", body, err)
	}
	if r.Status != "success" && r.Error == "" {
		return nil, fmt.Errorf("querier: status %q without an error", r.Status)
	}
	return &r, nil
}

func decode(t testing.TB, body []byte) *apiResponse {
	t.Helper()
	r, err := parseAnswer(body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// diffOrErr compares answers, where an error on both sides (the same kind of PromQL error) counts
// as equal.
func diffOrErr(t *testing.T, got, want *apiResponse, ordered bool) string {
	t.Helper()
	return compareAnswers(got, want, ordered)
}

// compareAnswers is diffOrErr for worker goroutines. Errors of different API types (bad_data for
// a query refused before evaluation, execution for one that failed while evaluating) differ;
// refusals agree whatever their wording, since parsers of different versions word them
// differently; evaluation errors must be of the same kind.
func compareAnswers(got, want *apiResponse, ordered bool) string {
	switch {
	case got.Status == "error" && want.Status == "error":
		typesKnown := got.ErrorType != "" && want.ErrorType != ""
		switch {
		case typesKnown && got.ErrorType != want.ErrorType:
			return fmt.Sprintf("both fail, as %s and oracle %s:\n  ours:   %s\n  oracle: %s", got.ErrorType, want.ErrorType, got.Error, want.Error)
		case typesKnown && got.ErrorType == errorBadData:
			return ""
		case errClass(got.Error) != errClass(want.Error):
			return fmt.Sprintf("both fail, differently:\n  ours:   %s\n  oracle: %s", got.Error, want.Error)
		}
		return ""
	case got.Status == "error":
		return "ours failed: " + got.Error
	case want.Status == "error":
		return "oracle failed, ours did not: " + want.Error
	}
	return describeDiff(got, want, ordered)
}

// errClass reduces an engine error to its kind; the Querier prefixes "execution: ".
func errClass(msg string) string {
	for _, k := range []string{"many-to-many matching not allowed", "multiple matches for labels", "vector cannot contain metrics with the same labelset",
		"found duplicate series for the match group", "invalid regular expression"} {
		if strings.Contains(msg, k) {
			return k
		}
	}
	return strings.TrimPrefix(msg, "execution: ")
}

// The API's error types that the comparison tells apart.
const (
	errorBadData   = "bad_data"
	errorExecution = "execution"
)
