package output

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// Names of the formats accepted by -o.
const (
	FormatTable = "table"
	FormatWide  = "wide"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
	FormatCSV   = "csv"
	FormatGraph = "graph"
)

// Formats returns the format names accepted by -o, the default first.
func Formats() []string {
	return []string{FormatTable, FormatWide, FormatJSON, FormatYAML, FormatCSV, FormatGraph}
}

// defaultWidth is assumed when the terminal's width is unknown, as when output is piped.
const defaultWidth = 80

// Options say how Write prints a result.
type Options struct {
	// Format is one of Formats(); empty means table.
	Format string
	// ReplicaLabels name the labels that tell HA replicas apart. When Deduplicated, they are left
	// out of tables, legends and graphs: a stray one would only add noise.
	ReplicaLabels []string
	Deduplicated  bool
	// Sources returns the store(s) a series came from, for the wide format's STORE(S) column;
	// nil leaves the column out.
	Sources func(labels.Labels) []string
	// Width is the terminal width in columns; 0 means 80.
	Width int
	// Color allows ANSI colour escapes. The caller clears it for NO_COLOR and when stdout is not
	// a terminal.
	Color bool
	// Query is the PromQL expression: it titles graphs and renders annotations.
	Query string
}

func (o Options) width() int {
	if o.Width <= 0 {
		return defaultWidth
	}
	return o.Width
}

// hidden reports whether label name is left out of human-readable output.
func (o Options) hidden(name string) bool {
	return o.Deduplicated && slices.Contains(o.ReplicaLabels, name)
}

// WarningsInline reports whether Write carries warnings and infos inside its output, as the json
// and yaml formats do; for the others the caller prints them on stderr.
func WarningsInline(format string) bool {
	return format == FormatJSON || format == FormatYAML
}

// ErrGraphNeedsRange is returned, wrapped, by Write for -o graph when the result is not a range
// result; the result has been printed as a table by then, so the caller should print the error
// as a note and succeed.
var ErrGraphNeedsRange = errors.New("a graph needs a range query (--since or --start); printed a table instead")

// Write prints v (a promql.Vector, Matrix, Scalar or String) in o.Format. Only the json and yaml
// formats carry annotations and extraWarnings, inside the response as the Prometheus API does;
// for the others the caller prints them on stderr.
func Write(w io.Writer, v parser.Value, annos annotations.Annotations, extraWarnings []string, o Options) error {
	switch o.Format {
	case "", FormatTable:
		return writeTable(w, v, o, false)
	case FormatWide:
		return writeTable(w, v, o, true)
	case FormatJSON:
		return WriteJSON(w, v, o.Query, annos, extraWarnings)
	case FormatYAML:
		return WriteYAML(w, v, o.Query, annos, extraWarnings)
	case FormatCSV:
		return WriteCSV(w, v)
	case FormatGraph:
		m, ok := v.(promql.Matrix)
		if !ok {
			if err := writeTable(w, v, o, false); err != nil {
				return err
			}
			return fmt.Errorf("-o graph with a %s result: %w", v.Type(), ErrGraphNeedsRange)
		}
		return WriteGraph(w, m, o)
	}
	return fmt.Errorf("unknown output format %q: want one of %s", o.Format, strings.Join(Formats(), ", "))
}
