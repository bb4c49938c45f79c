package output

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/output -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./pkg/output -update rewrites it)\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

func write(t *testing.T, v parser.Value, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, v, nil, nil, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dedupOptions(format string) Options {
	return Options{Format: format, ReplicaLabels: replicaLabels, Deduplicated: true, Width: 80,
		Query: `sum by (code, job, namespace, pod) (rate(http_requests_total{job="api"}[5m]))`}
}

// sources names the sidecars a fixture series came from: two for one pod, as if its replicas
// had been merged.
func sources(ls labels.Labels) []string {
	switch ls.Get("pod") {
	case "api-7d9f-abcde":
		return []string{"monitoring/prometheus-k8s-0", "monitoring/prometheus-k8s-1"}
	case "":
		return nil
	}
	return []string{"monitoring/prometheus-k8s-0"}
}

func TestGoldenTable(t *testing.T) {
	o := dedupOptions(FormatTable)
	o.Query = `up{job="api"}`
	golden(t, "table_instant.golden", write(t, instantFixture(), o))
	golden(t, "table_range.golden", write(t, rangeFixture(), dedupOptions(FormatTable)))
	golden(t, "table_histogram.golden", write(t, histogramFixture(), dedupOptions(FormatTable)))
}

func TestGoldenWide(t *testing.T) {
	o := dedupOptions(FormatWide)
	o.Sources = sources
	golden(t, "wide_instant.golden", write(t, instantFixture(), o))
	golden(t, "wide_range.golden", write(t, rangeFixture(), o))
}

func TestGoldenCSV(t *testing.T) {
	golden(t, "csv_instant.golden", write(t, instantFixture(), dedupOptions(FormatCSV)))
	golden(t, "csv_range.golden", write(t, rangeFixture(), dedupOptions(FormatCSV)))
	golden(t, "csv_histogram.golden", write(t, histogramFixture(), dedupOptions(FormatCSV)))
}

func TestGoldenYAML(t *testing.T) {
	golden(t, "yaml_instant.golden", write(t, instantFixture(), dedupOptions(FormatYAML)))
	golden(t, "yaml_range.golden", write(t, rangeFixture()[1:2], dedupOptions(FormatYAML)))
	golden(t, "yaml_histogram.golden", write(t, histogramFixture(), dedupOptions(FormatYAML)))
}

// manySeries is twelve load averages, more than a graph draws.
func manySeries() promql.Matrix {
	var m promql.Matrix
	for i := range 12 {
		s := promql.Series{Metric: labels.FromStrings("__name__", "node_load1", "job", "node",
			"instance", fmt.Sprintf("node-%02d.example.com:9100", i))}
		for j := range 120 {
			s.Floats = append(s.Floats, promql.FPoint{T: evalTime + int64(j)*15_000, F: 0.4*float64(i) + 0.2*math.Sin(float64(j+i*7)/9)})
		}
		m = append(m, s)
	}
	return m
}

func TestGoldenGraph(t *testing.T) {
	golden(t, "graph_range.golden", write(t, rangeFixture(), dedupOptions(FormatGraph)))

	single := dedupOptions(FormatGraph)
	single.Query = `rate(http_requests_total{pod="api-7d9f-abcde"}[5m])`
	golden(t, "graph_single.golden", write(t, rangeFixture()[:1], single))

	capped := dedupOptions(FormatGraph)
	capped.Query = `node_load1`
	golden(t, "graph_capped.golden", write(t, manySeries(), capped))
}
