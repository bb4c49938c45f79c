package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
)

type metaResponse struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// canonical returns the data as sorted strings: label names/values as they are, series as their
// sorted label text.
func canonical(t *testing.T, raw json.RawMessage, series bool) []string {
	t.Helper()
	var out []string
	if series {
		var ss []map[string]string
		if err := json.Unmarshal(raw, &ss); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		for _, s := range ss {
			out = append(out, metricKey(s))
		}
	} else if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	slices.Sort(out)
	return out
}

// series, labels and label-values equal the Querier's /api/v1/series, /labels and
// /label/<name>/values, with matchers and a time range, deduplicated or not.
func TestMetadataAgainstQuerier(t *testing.T) {
	kc := "--kubeconfig=" + theBed.Kubeconfig
	start, end := secs(theBed.HistoryStart+60*60_000), secs(theBed.HistoryStart+2*60*60_000)
	type tc struct {
		name   string
		args   []string
		path   string
		params url.Values
		series bool
	}
	var cases []tc
	for _, dedup := range []bool{true, false} {
		d := fmt.Sprintf("--dedup=%t", dedup)
		ds := fmt.Sprint(dedup)
		cases = append(cases,
			tc{"series", []string{"series", `up{job="node-exporter"}`, `process_resident_memory_bytes`, d}, "/api/v1/series",
				url.Values{"match[]": {`up{job="node-exporter"}`, `process_resident_memory_bytes`}, "dedup": {ds}}, true},
			tc{"series in range", []string{"series", `{__name__=~"http_requests_total|up", code="500"}`, "--start", start, "--end", end, d}, "/api/v1/series",
				url.Values{"match[]": {`{__name__=~"http_requests_total|up", code="500"}`}, "start": {start}, "end": {end}, "dedup": {ds}}, true},
			tc{"labels", []string{"labels", d}, "/api/v1/labels", url.Values{"dedup": {ds}}, false},
			tc{"labels matching", []string{"labels", "--match", `kube_pod_info`, "--start", start, "--end", end, d}, "/api/v1/labels",
				url.Values{"match[]": {`kube_pod_info`}, "start": {start}, "end": {end}, "dedup": {ds}}, false},
			tc{"label values", []string{"label-values", "instance", d}, "/api/v1/label/instance/values", url.Values{"dedup": {ds}}, false},
			tc{"replica values", []string{"label-values", "replica", d}, "/api/v1/label/replica/values", url.Values{"dedup": {ds}}, false},
			tc{"label values matching", []string{"label-values", "handler", "--match", `http_requests_total{code="500"}`, d}, "/api/v1/label/handler/values",
				url.Values{"match[]": {`http_requests_total{code="500"}`}, "dedup": {ds}}, false},
		)
	}
	for _, c := range cases {
		out, stderr, err := runCLI(t, append(c.args, kc, "-o", "json")...)
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", c.name, c.args, err, stderr)
		}
		var ours metaResponse
		if err := json.Unmarshal([]byte(out), &ours); err != nil || ours.Status != "success" {
			t.Fatalf("%s: our answer %q: %v", c.name, out, err)
		}
		want := oracle(t, c.path, c.params)
		var theirs metaResponse
		if err := json.Unmarshal(want.raw, &theirs); err != nil {
			t.Fatal(err)
		}
		a, b := canonical(t, ours.Data, c.series), canonical(t, theirs.Data, c.series)
		if !slices.Equal(a, b) {
			t.Errorf("%s %v:\n  ours   (%d) %v\n  oracle (%d) %v", c.name, c.args, len(a), a, len(b), b)
		}
		if len(a) == 0 {
			t.Errorf("%s: empty answer proves nothing", c.name)
		}
	}
}
