package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestSplitForCompletion(t *testing.T) {
	for _, tc := range []struct {
		in, head, word string
		label          bool
	}{
		{"http_req", "", "http_req", false},
		{"rate(http_req", "rate(", "http_req", false},
		{`up{jo`, "up{", "jo", true},
		{`up{job="a", inst`, `up{job="a", `, "inst", true},
		{"sum by (clu", "sum by (", "clu", true},
		{"sum without(clu", "sum without(", "clu", true},
		{"sum(rate(x[5m])) by (", "sum(rate(x[5m])) by (", "", true},
		{"a / on (inst", "a / on (", "inst", true},
		{"max(up{a=\"b\"}) + proc", "max(up{a=\"b\"}) + ", "proc", false},
	} {
		head, word, label := splitForCompletion(tc.in)
		if head != tc.head || word != tc.word || label != tc.label {
			t.Errorf("%q: got (%q, %q, %v), want (%q, %q, %v)", tc.in, head, word, label, tc.head, tc.word, tc.label)
		}
	}
}

func TestValidateFlagCombinations(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // part of the usage error; "" = valid
	}{
		{[]string{"up"}, ""},
		{[]string{"up", "--time", "1", "--start", "2"}, "--time is for instant queries"},
		{[]string{"up", "--since", "1h", "--start", "2"}, "--since cannot be combined"},
		{[]string{"up", "--end", "1"}, "needs --start or --since"},
		{[]string{"up", "--start", "10", "--end", "5"}, "--end is before --start"},
		{[]string{"up", "--start", "0", "--end", "100000", "--step", "1"}, "at most 11,000 points"},
		{[]string{"up", "-o", "xml"}, "--output"},
		{[]string{"up", "--dedup-func", "fancy"}, "--dedup-func"},
		{[]string{"up", "--endpoint", "nohostport"}, "want HOST:PORT"},
		{[]string{"up", "--endpoint", "a:1", "--all-contexts"}, "--endpoint skips discovery"},
		{[]string{"up", "--all-contexts", "--context", "x"}, "cannot be used together"},
		{[]string{"sum(up"}, "unclosed left parenthesis"},
		{[]string{"up", "--series-batch-size", "-1"}, "--series-batch-size -1"},
		{[]string{"up", "--since", "-1h"}, "--since -1h0m0s: want a positive duration"},
		{[]string{"up", "--replica-label", ""}, "a replica label needs a name"},
	} {
		o := NewQueryOptions(genericiooptions.NewTestIOStreamsDiscard())
		if err := QueryFlagSet(o).Parse(tc.args[1:]); err != nil {
			t.Fatal(err)
		}
		if err := o.Complete(tc.args[:1]); err != nil {
			t.Fatal(err)
		}
		err := o.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		case tc.want != "" && ExitCode(err) != 2:
			t.Errorf("%v: exit code %d, want 2", tc.args, ExitCode(err))
		}
	}
}
