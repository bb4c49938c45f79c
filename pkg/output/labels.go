package output

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// labelColumns returns the label names to show as columns, sorted with __name__ first.
func labelColumns(sets []labels.Labels) []string {
	var names []string
	seen := map[string]bool{}
	for _, ls := range sets {
		ls.Range(func(l labels.Label) {
			if !seen[l.Name] {
				seen[l.Name] = true
				names = append(names, l.Name)
			}
		})
	}
	slices.Sort(names)
	if i := slices.Index(names, labels.MetricName); i > 0 {
		names = append([]string{labels.MetricName}, slices.Delete(names, i, i+1)...)
	}
	return names
}

// visibleColumns is labelColumns without the labels o hides.
func visibleColumns(sets []labels.Labels, o Options) []string {
	return slices.DeleteFunc(labelColumns(sets), o.hidden)
}

// splitConstant separates the names whose value (or absence) is the same in every set from those
// that vary, keeping the order of names.
func splitConstant(sets []labels.Labels, names []string) (constant, varying []string) {
	for _, n := range names {
		same := true
		for _, ls := range sets[1:] {
			if ls.Get(n) != sets[0].Get(n) {
				same = false
				break
			}
		}
		if same && sets[0].Has(n) {
			constant = append(constant, n)
		} else {
			varying = append(varying, n)
		}
	}
	return constant, varying
}

// labelText renders the named labels of ls for people: the metric name bare, then name=value
// pairs, values quoted only where they would otherwise be ambiguous.
func labelText(ls labels.Labels, names []string, sep string) string {
	var parts []string
	for _, n := range names {
		if !ls.Has(n) {
			continue
		}
		v := ls.Get(n)
		if n == labels.MetricName {
			parts = append(parts, v)
			continue
		}
		parts = append(parts, n+"="+quoteIfNeeded(v))
	}
	return strings.Join(parts, sep)
}

func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \"=,{}") || strings.IndexFunc(v, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// headerName is how a label name heads a table column: upper case, underscores kept so the
// header still names the label one can select on.
func headerName(n string) string {
	if n == labels.MetricName {
		return "NAME"
	}
	return strings.ToUpper(n)
}
