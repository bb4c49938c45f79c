package cmd

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

// terminal reports whether w is a terminal that may get colour (NO_COLOR unset) and its width.
func terminal(w io.Writer) (color bool, width int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
		width = cols
	}
	return os.Getenv("NO_COLOR") == "", width
}

// sourcesOf names, for a result series, the stores whose external labels agree with it: for a
// selector that is the store it came from (both replicas when deduplicated), for an aggregate
// every store that fed it.
func sourcesOf(stores []*fanout.Store) func(labels.Labels) []string {
	return func(ls labels.Labels) []string {
		var out []string
		for _, s := range stores {
			for _, ext := range s.Info.LabelSets {
				agree := true
				ext.Range(func(l labels.Label) {
					if v := ls.Get(l.Name); v != "" && v != l.Value {
						agree = false
					}
				})
				if agree {
					out = append(out, s.Name)
					break
				}
			}
		}
		return out
	}
}

// writeDocument writes an API body that write renders as JSON, as YAML when format says so.
func writeDocument(w io.Writer, format string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	out := b.Bytes()
	if format == "yaml" {
		y, err := yaml.JSONToYAML(out)
		if err != nil {
			return err
		}
		out = y
	}
	_, err := w.Write(out)
	return err
}

// checkOutput refuses an --output that is none of formats, naming them.
func checkOutput(got string, formats ...string) error {
	if slices.Contains(formats, got) {
		return nil
	}
	list := strings.Join(formats[:len(formats)-1], ", ") + " or " + formats[len(formats)-1]
	return usageError("--output %q: want %s", got, list)
}
