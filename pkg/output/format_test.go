package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	yaml "go.yaml.in/yaml/v3"
)

func TestFormatsAndUnknownFormat(t *testing.T) {
	want := []string{"table", "wide", "json", "yaml", "csv", "graph"}
	if got := Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	for _, f := range want {
		if got := WarningsInline(f); got != (f == "json" || f == "yaml") {
			t.Errorf("WarningsInline(%q) = %v", f, got)
		}
	}
	err := Write(&bytes.Buffer{}, instantFixture(), nil, nil, Options{Format: "xml"})
	if err == nil || !strings.Contains(err.Error(), "table, wide, json") {
		t.Fatalf("unknown format: %v", err)
	}
	// The default is the table.
	if a, b := write(t, instantFixture(), Options{}), write(t, instantFixture(), Options{Format: "table"}); !bytes.Equal(a, b) {
		t.Fatalf("empty format is not table:\n%s\n%s", a, b)
	}
}

func TestJSONFormatIsWriteJSON(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteJSON(&a, rangeFixture(), "q", nil, []string{"store down"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, rangeFixture(), nil, []string{"store down"}, Options{Format: FormatJSON, Query: "q"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("-o json differs from WriteJSON")
	}
}

func TestReplicaColumnsDroppedOnlyWhenDeduplicated(t *testing.T) {
	for _, format := range []string{FormatTable, FormatWide} {
		o := dedupOptions(format)
		if out := string(write(t, instantFixture(), o)); strings.Contains(out, "REPLICA") || strings.Contains(out, "prometheus-k8s") {
			t.Errorf("%s, deduplicated: replica label shown:\n%s", format, out)
		}
		o.Deduplicated = false
		if out := string(write(t, instantFixture(), o)); !strings.Contains(out, "PROMETHEUS_REPLICA") {
			t.Errorf("%s, not deduplicated: replica column missing:\n%s", format, out)
		}
	}
}

func TestFoldedTableKeepsOneLabelColumn(t *testing.T) {
	v := promql.Vector{{Metric: labels.FromStrings("__name__", "up", "job", "api", "pod_name", "a"), T: 1000, F: 1}}
	got := string(write(t, v, Options{}))
	want := "job=api  pod_name=a  @ 1970-01-01T00:00:01Z\nNAME   VALUE\nup     1\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Underscores stay in headers: the column names a label one can select on.
	v = append(v, promql.Sample{Metric: labels.FromStrings("__name__", "up", "job", "db", "pod_name", "b"), T: 1000})
	if got := string(write(t, v, Options{})); !strings.Contains(got, "JOB   POD_NAME   VALUE") {
		t.Fatalf("header:\n%s", got)
	}
}

func TestTableTimestampsNotFoldedWhenTheyDiffer(t *testing.T) {
	v := promql.Vector{
		{Metric: labels.FromStrings("job", "a"), T: 1000, F: 1},
		{Metric: labels.FromStrings("job", "b"), T: 2000, F: 2},
	}
	got := string(write(t, v, Options{}))
	want := "JOB   VALUE   TIMESTAMP\na     1       1970-01-01T00:00:01Z\nb     2       1970-01-01T00:00:02Z\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTrendOnlyWhenItFits(t *testing.T) {
	o := dedupOptions(FormatTable)
	for _, tc := range []struct {
		width int
		trend bool
	}{{60, false}, {80, true}, {0, true}, {200, true}} {
		o.Width = tc.width
		out := string(write(t, rangeFixture(), o))
		if strings.Contains(out, "TREND") != tc.trend {
			t.Errorf("width %d: trend shown %v, want %v:\n%s", tc.width, !tc.trend, tc.trend, out)
		}
		if tc.width > 0 {
			for line := range strings.Lines(out) {
				if n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n")); n > max(tc.width, 75) {
					t.Errorf("width %d: line of %d runes: %q", tc.width, n, line)
				}
			}
		}
	}
}

func TestSparkline(t *testing.T) {
	pts := []promql.FPoint{{T: 0, F: 0}, {T: 1, F: 1}, {T: 2, F: 2}, {T: 3, F: math.NaN()}, {T: 5, F: 7}}
	if got, want := sparkline(pts, 0, 6, 6), "▁▂▃  █"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	// Two points a character: their mean.
	if got, want := sparkline(pts[:3], 0, 4, 2), "▁█"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if got, want := sparkline([]promql.FPoint{{T: 0, F: 3}, {T: 1, F: 3}}, 0, 2, 2), "▄▄"; got != want {
		t.Fatalf("flat: got %q want %q", got, want)
	}
}

func TestFormatCompact(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-2.5, "-2.5"}, {999, "999"}, {999.96, "1k"}, {1234, "1.23k"},
		{12345, "12.3k"}, {3.4e6, "3.4M"}, {-7.25e9, "-7.25G"}, {0.5, "0.5"}, {0.00123, "0.00123"},
		{0.0005, "500µ"}, {2e-9, "2n"}, {math.Inf(1), "+Inf"}, {math.NaN(), "NaN"},
	} {
		if got := formatCompact(tc.v, 3); got != tc.want {
			t.Errorf("formatCompact(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := distinctCompact(1000.3, 1000.2, 1000.1); !slices.Equal(got, []string{"1.0003k", "1.0002k", "1.0001k"}) {
		t.Errorf("distinctCompact: %v", got)
	}
	for v, want := range map[float64]string{1343.6341262474593: "1343.63", 0.000123456789: "0.000123457", 1234567.891: "1234568", 1e-7: "1e-07", 42: "42"} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNoColorMeansNoEscapes(t *testing.T) {
	values := []parser.Value{instantFixture(), rangeFixture(), histogramFixture(), manySeries(), promql.Scalar{T: 1, V: 2}}
	for _, f := range Formats() {
		for _, v := range values {
			var b bytes.Buffer
			o := dedupOptions(f)
			o.Sources = sources
			if err := Write(&b, v, nil, nil, o); err != nil && !errors.Is(err, ErrGraphNeedsRange) {
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte("\x1b")) {
				t.Errorf("-o %s of a %s prints an escape without colour:\n%s", f, v.Type(), b.String())
			}
		}
	}
	o := dedupOptions(FormatGraph)
	o.Color = true
	out := string(write(t, rangeFixture(), o))
	for _, code := range []string{"\x1b[36m", "\x1b[33m", "\x1b[35m", ansiReset} {
		if !strings.Contains(out, code) {
			t.Errorf("colour graph lacks %q:\n%s", code, out)
		}
	}
	// Colour changes nothing but the escapes: the same braille as a lone series draws.
	o.Color = false
	plain := string(write(t, rangeFixture()[:1], o))
	o.Color = true
	colored := string(write(t, rangeFixture()[:1], o))
	if stripped := stripANSI(colored); stripped != plain {
		t.Errorf("colour changes the drawing:\n%s\n%s", stripped, plain)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i])
		s = s[i+strings.IndexByte(s[i:], 'm')+1:]
	}
}

func TestGraphOfInstantVectorFallsBackToTable(t *testing.T) {
	var b bytes.Buffer
	err := Write(&b, instantFixture(), nil, nil, dedupOptions(FormatGraph))
	if !errors.Is(err, ErrGraphNeedsRange) {
		t.Fatalf("err = %v, want ErrGraphNeedsRange", err)
	}
	if want := write(t, instantFixture(), dedupOptions(FormatTable)); !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("fallback is not the table:\n%s", b.String())
	}
}

func TestGraphFitsItsWidth(t *testing.T) {
	for _, width := range []int{60, 80, 132} {
		for _, m := range []promql.Matrix{rangeFixture(), manySeries(), rangeFixture()[:1]} {
			o := dedupOptions(FormatGraph)
			o.Width = width
			out := string(write(t, m, o))
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			plotRows := 0
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("width %d: %d runes: %q", width, n, l)
				}
				if strings.ContainsAny(l, "┤│") {
					plotRows++
				}
			}
			if plotRows != graphRows {
				t.Errorf("width %d: %d plot rows, want %d", width, plotRows, graphRows)
			}
		}
	}
}

func TestGraphSkipsHistogramsAndSaysSo(t *testing.T) {
	m := rangeFixture()[:1]
	m = append(m, promql.Series{Metric: labels.FromStrings("pod", "h"), Histograms: []promql.HPoint{{T: evalTime, H: histogramFixture()[0].H}}})
	out := string(write(t, m, dedupOptions(FormatGraph)))
	if !strings.Contains(out, "1 series not drawn") {
		t.Fatalf("no footnote:\n%s", out)
	}
	if out := string(write(t, m[1:], dedupOptions(FormatGraph))); !strings.Contains(out, "No float samples to draw.") {
		t.Fatalf("histograms only:\n%s", out)
	}
}

func TestCSVQuotingAndRows(t *testing.T) {
	v := promql.Vector{
		{Metric: labels.FromStrings("__name__", "x", "msg", `a "quoted", comma`), T: 1500, F: 0.25},
		{Metric: labels.FromStrings("__name__", "x", "msg", "two\nlines", "extra", "e"), T: 1500, F: math.Inf(-1)},
	}
	var b bytes.Buffer
	if err := Write(&b, v, nil, nil, Options{Format: FormatCSV}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"__name__", "extra", "msg", "timestamp", "unix", "value"},
		{"x", "", `a "quoted", comma`, "1970-01-01T00:00:01.5Z", "1.5", "0.25"},
		{"x", "e", "two\nlines", "1970-01-01T00:00:01.5Z", "1.5", "-Inf"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("got %q\nwant %q", rows, want)
	}

	b.Reset()
	if err := WriteCSV(&b, rangeFixture()); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rows) - 1; n != 61+51+46 {
		t.Fatalf("%d rows for %d points", n, 61+51+46)
	}
}

// YAML carries what JSON carries: decoding both gives the same data.
func TestYAMLHasTheJSONContent(t *testing.T) {
	for _, v := range []parser.Value{instantFixture(), rangeFixture(), histogramFixture(), promql.Scalar{T: 1500, V: 2}, promql.String{T: 0, V: "yes"}} {
		var j, y bytes.Buffer
		if err := WriteJSON(&j, v, "q", nil, []string{"store x: unavailable"}); err != nil {
			t.Fatal(err)
		}
		if err := Write(&y, v, nil, []string{"store x: unavailable"}, Options{Format: FormatYAML, Query: "q"}); err != nil {
			t.Fatal(err)
		}
		var fromJSON, fromYAML any
		if err := json.Unmarshal(j.Bytes(), &fromJSON); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil {
			t.Fatalf("%v\n%s", err, y.String())
		}
		// Through JSON again, so YAML's integers compare equal to JSON's float64s.
		re, err := json.Marshal(fromYAML)
		if err != nil {
			t.Fatal(err)
		}
		var normalized any
		if err := json.Unmarshal(re, &normalized); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, normalized) {
			t.Errorf("%s: YAML differs from JSON\n%s\n%s", v.Type(), j.String(), y.String())
		}
		if !strings.HasPrefix(y.String(), "status: success\n") {
			t.Errorf("YAML does not start with the status:\n%s", y.String())
		}
	}
}

func TestPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.png")
	o := dedupOptions(FormatGraph)
	if err := WritePNG(path, rangeFixture(), o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	c := newChart(rangeFixture(), o)
	l := layoutPNG(c)
	if got := img.Bounds().Size(); got != l.size || got.X != pngWidth || got.Y < pngPlotH {
		t.Fatalf("size %v, want %v", got, l.size)
	}

	colors := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			colors[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	if len(colors) < 6 {
		t.Fatalf("only %d colours: blank?", len(colors))
	}
	if colors[pngBackground] > b.Dx()*b.Dy()*97/100 {
		t.Fatalf("%d of %d pixels are background", colors[pngBackground], b.Dx()*b.Dy())
	}
	for i := range c.lines {
		if colors[pngColors[i]] < 200 {
			t.Errorf("series %d: only %d pixels of its colour", i, colors[pngColors[i]])
		}
	}

	// near reports whether a pixel within 3 of p has colour want.
	near := func(p image.Point, want color.RGBA) bool {
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				if color.RGBAModel.Convert(img.At(p.X+dx, p.Y+dy)).(color.RGBA) == want {
					return true
				}
			}
		}
		return false
	}
	p := l.plot
	// Ranked by last value: the rising pod (0) starts bottom left at the minimum, the falling one
	// (2) top left at the maximum, the steady one (1) ends at the right at its last value.
	if !near(image.Pt(p.Min.X+2, p.Max.Y-3), pngColors[0]) {
		t.Error("rising series not at the bottom left")
	}
	if !near(image.Pt(p.Min.X+2, p.Min.Y+2), pngColors[2]) {
		t.Error("falling series not at the top left")
	}
	if !near(image.Pt(p.Max.X-3, l.plotY(c, 769.6124834856472)), pngColors[1]) {
		t.Error("steady series not at its last value on the right")
	}
	// The steady series has no samples from minute 25 to 34: its line breaks there.
	gap := p.Min.X + int(math.Round(30.0/60*float64(p.Dx()-1)))
	for y := p.Min.Y; y < p.Max.Y; y++ {
		if color.RGBAModel.Convert(img.At(gap, y)).(color.RGBA) == pngColors[1] {
			t.Fatalf("steady series drawn across its gap at y=%d", y)
		}
	}
	// Each legend line has its swatch.
	for i := range c.lines {
		if !near(image.Pt(pngPad+pngSwatchW/2, l.legendY+i*pngLineH+pngCapMid), pngColors[i]) {
			t.Errorf("legend swatch %d missing", i)
		}
	}

	if err := WritePNG(filepath.Join(t.TempDir(), "x.png"), nil, o); err == nil {
		t.Error("an empty result drew a chart")
	}
}
