package corpus

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

const at = 1700000000

// everything parses what the corpus may contain; the engines' defaults refuse part of it on
// purpose.
var everything = parser.Options{EnableExperimentalFunctions: true, EnableBinopFillModifiers: true}

func TestGenerateIsDeterministicAndLargeEnough(t *testing.T) {
	a, b := Generate(Params{At: at}), Generate(Params{At: at})
	if !slices.Equal(a, b) {
		t.Fatal("two runs with the same parameters differ")
	}
	seen := map[string]bool{}
	for _, e := range a {
		if seen[e.Query] {
			t.Errorf("duplicate %q", e.Query)
		}
		seen[e.Query] = true
		if e.Family == "" {
			t.Errorf("%q has no family", e.Query)
		}
	}
	if len(a) < 500 {
		t.Fatalf("%d expressions, want at least 500", len(a))
	}
	t.Logf("%d expressions", len(a))
}

func TestEveryExpressionParses(t *testing.T) {
	defaults := parser.NewParser(parser.Options{})
	rejected := 0
	for _, e := range Generate(Params{At: at}) {
		if _, err := parser.NewParser(everything).ParseExpr(e.Query); err != nil {
			t.Errorf("%q: %v", e.Query, err)
			continue
		}
		_, err := defaults.ParseExpr(e.Query)
		// Only the experimental family may need features that are off by default, and all of it
		// must: it exists to check that both sides refuse the same things.
		if (err != nil) != (e.Family == FamilyExperimental) {
			t.Errorf("%q (family %s): parse error with default options: %v", e.Query, e.Family, err)
		}
		if err != nil {
			rejected++
		}
	}
	t.Logf("%d expressions need features off by default", rejected)
}

// coverage is what the corpus exercises, read from the parsed expressions.
type coverage map[string]bool

func (c coverage) add(parts ...string) { c[strings.Join(parts, " ")] = true }

func cover(t *testing.T, exprs []Expr) coverage {
	t.Helper()
	c := coverage{}
	for _, e := range exprs {
		ast, err := parser.NewParser(everything).ParseExpr(e.Query)
		if err != nil {
			t.Fatalf("%q: %v", e.Query, err)
		}
		if e.Ordered {
			c.add("ordered")
		}
		parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.Call:
				c.add("func", n.Func.Name)
				if strings.HasPrefix(n.Func.Name, "histogram_") {
					for _, a := range n.Args {
						if strings.Contains(a.String(), nativeHist) {
							c.add("native", n.Func.Name)
						}
						if strings.Contains(a.String(), "_bucket") {
							c.add("classic", n.Func.Name)
						}
					}
				}
			case *parser.AggregateExpr:
				c.add("agg", n.Op.String())
				switch {
				case n.Without:
					c.add("without")
				case len(n.Grouping) > 0:
					c.add("by")
				}
			case *parser.BinaryExpr:
				c.add("binop", n.Op.String())
				if n.ReturnBool {
					c.add("bool")
				}
				if vm := n.VectorMatching; vm != nil {
					switch {
					case vm.On && (n.LHS.Type() != parser.ValueTypeVector || n.RHS.Type() != parser.ValueTypeVector):
					case vm.On:
						c.add("on")
					case len(vm.MatchingLabels) > 0:
						c.add("ignoring")
					}
					switch vm.Card {
					case parser.CardManyToOne:
						c.add("group_left")
					case parser.CardOneToMany:
						c.add("group_right")
					}
				}
			case *parser.SubqueryExpr:
				c.add("subquery")
				if n.Step == 0 {
					c.add("subquery default step")
				}
				c.offsetAt(n.OriginalOffset, n.Timestamp, n.StartOrEnd)
			case *parser.VectorSelector:
				c.offsetAt(n.OriginalOffset, n.Timestamp, n.StartOrEnd)
				for _, m := range n.LabelMatchers {
					c.add("matcher", m.Type.String())
					if m.Name == "cluster" || m.Name == "replica" {
						c.add("external label matcher")
					}
				}
			}
			return nil
		})
	}
	return c
}

func (c coverage) offsetAt(off time.Duration, ts *int64, startOrEnd parser.ItemType) {
	switch {
	case off > 0:
		c.add("offset")
	case off < 0:
		c.add("negative offset")
	}
	switch {
	case ts != nil:
		c.add("@ time")
	case startOrEnd == parser.START:
		c.add("@ start()")
	case startOrEnd == parser.END:
		c.add("@ end()")
	}
}

func TestCoverage(t *testing.T) {
	c := cover(t, Generate(Params{At: at}))
	var want []string
	// Every function, experimental ones included: for those the corpus checks that both sides
	// refuse them.
	for name := range parser.Functions {
		want = append(want, "func "+name)
	}
	for _, op := range []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio"} {
		want = append(want, "agg "+op)
	}
	for _, op := range []string{"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"} {
		want = append(want, "binop "+op)
	}
	for _, m := range []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp} {
		want = append(want, "matcher "+m.String())
	}
	want = append(want, "bool", "on", "ignoring", "group_left", "group_right", "by", "without", "subquery",
		"subquery default step", "offset", "negative offset", "@ time", "@ start()", "@ end()", "ordered",
		"external label matcher")
	for _, fn := range []string{"histogram_quantile", "histogram_fraction"} {
		want = append(want, "classic "+fn)
	}
	for _, fn := range []string{"histogram_quantile", "histogram_count", "histogram_sum", "histogram_avg",
		"histogram_fraction", "histogram_stddev", "histogram_stdvar"} {
		want = append(want, "native "+fn)
	}
	sort.Strings(want)
	for _, w := range want {
		if !c[w] {
			t.Errorf("the corpus does not cover %s", w)
		}
	}
}

// The functions both engines refuse, because neither the Querier nor we enable
// promql-experimental-functions. Listed so that a Prometheus upgrade that promotes or adds one
// shows up here.
func TestExperimentalFunctions(t *testing.T) {
	var got []string
	for name, f := range parser.Functions {
		if f.Experimental {
			got = append(got, name)
		}
	}
	sort.Strings(got)
	want := []string{"double_exponential_smoothing", "end", "histogram_quantiles", "info", "integral",
		"mad_over_time", "max_of", "min_of", "range", "sort_by_label", "sort_by_label_desc", "start",
		"start_timestamp", "step", "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time",
		"ts_of_min_over_time"}
	if !slices.Equal(got, want) {
		t.Errorf("experimental functions are now %q", got)
	}
}

func TestOrdered(t *testing.T) {
	for q, want := range map[string]bool{
		`sort(up)`:                      true,
		`(sort_desc(up))`:               true,
		`topk(3, up)`:                   true,
		`bottomk by () (3, up)`:         true,
		`topk by (job) (3, up)`:         false,
		`topk without (job) (3, up)`:    false,
		`sort(up) + 1`:                  false,
		`sum(sort(up))`:                 false,
		`sort_by_label(up, "instance")`: true,
		`up`:                            false,
	} {
		if got := ordered(q); got != want {
			t.Errorf("ordered(%q) = %v, want %v", q, got, want)
		}
	}
}
