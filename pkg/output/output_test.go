package output

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"
)

// Byte for byte what Prometheus and the Querier write, timestamps with three decimals included.
func TestJSONHasThePrometheusAPIShape(t *testing.T) {
	v := promql.Vector{
		{Metric: labels.FromStrings("__name__", "up", "job", "a"), T: 1500, F: 1},
		{Metric: labels.FromStrings("job", "b"), T: 1500, F: math.NaN()},
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, v, "up", nil, []string{"store x down"}); err != nil {
		t.Fatal(err)
	}
	want := `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1.500,"1"]},{"metric":{"job":"b"},"value":[1.500,"NaN"]}]},"warnings":["store x down"]}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}

func TestJSONMatrixScalarAndAnnotations(t *testing.T) {
	m := promql.Matrix{{Metric: labels.FromStrings("a", "1"), Floats: []promql.FPoint{{T: 0, F: 2}, {T: 60000, F: math.Inf(1)}}}}
	var annos annotations.Annotations
	annos.Add(annotations.NewPossibleNonCounterInfo("foo", posrange.PositionRange{}))
	var b bytes.Buffer
	if err := WriteJSON(&b, m, "foo", annos, nil); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	data := got["data"].(map[string]any)
	if data["resultType"] != "matrix" {
		t.Fatalf("resultType %v", data["resultType"])
	}
	if !strings.Contains(b.String(), `"values":[[0,"2"],[60,"+Inf"]]`) {
		t.Fatalf("values: %s", b.String())
	}
	if _, ok := got["infos"]; !ok {
		t.Fatalf("info annotation missing: %s", b.String())
	}

	b.Reset()
	if err := WriteJSON(&b, promql.Scalar{T: 1234, V: 0.5}, "0.5", nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"result":[1.234,"0.5"]`) {
		t.Fatalf("scalar: %s", b.String())
	}
}

func TestTableFoldsNothingAndAligns(t *testing.T) {
	v := promql.Vector{
		{Metric: labels.FromStrings("__name__", "up", "job", "api", "instance", "a:1"), T: 0, F: 1},
		{Metric: labels.FromStrings("__name__", "up", "job", "db"), T: 0, F: 0},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, v); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows:\n%s", b.String())
	}
	for _, h := range []string{"NAME", "INSTANCE", "JOB", "VALUE", "TIMESTAMP"} {
		if !strings.Contains(lines[0], h) {
			t.Fatalf("header %q lacks %s", lines[0], h)
		}
	}
	// Columns line up: VALUE starts at the same offset in every line.
	col := strings.Index(lines[0], "VALUE")
	if lines[1][col] != '1' || lines[2][col] != '0' {
		t.Fatalf("misaligned:\n%s", b.String())
	}
}

// Plain rows get the query table's style: upper-case headers, blank-separated, no trailing blanks.
func TestWriteRows(t *testing.T) {
	var b strings.Builder
	if err := WriteRows(&b, []string{"store", "min time"}, [][]string{{"europe/pod-0", "-"}, {"us", "2026-01-01T00:00:00Z"}}); err != nil {
		t.Fatal(err)
	}
	want := "STORE          MIN TIME\neurope/pod-0   -\nus             2026-01-01T00:00:00Z\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}
