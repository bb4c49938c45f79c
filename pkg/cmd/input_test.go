package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func validateQuery(t *testing.T, args ...string) error {
	t.Helper()
	o := NewQueryOptions(genericiooptions.NewTestIOStreamsDiscard())
	if err := QueryFlagSet(o).Parse(args[1:]); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(args[:1]); err != nil {
		t.Fatal(err)
	}
	return o.Validate()
}

// A query over the size limits is bad input: exit 2, naming the limit, before any connection.
func TestQueryLimitsAreBadInput(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
	for q, want := range map[string]string{
		nested(30_000):                       "more than 256 levels deep (at byte 256); the limit is 256 levels",
		nested(100_000):                      "query is 200001 bytes long; the limit is 131072 bytes (128 KiB)",
		strings.Repeat("up or ", 2000) + "x": "the limit is 1024 operators",
	} {
		err := validateQuery(t, q)
		if err == nil || !strings.Contains(err.Error(), want) || ExitCode(err) != 2 {
			t.Errorf("%.40q: %v (exit %d), want %q and exit 2", q, err, ExitCode(err), want)
		}
	}
	o := &MetadataOptions{StoreOptions: NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard()), kind: kindSeries, Output: "table"}
	o.Matches = []string{"up{a=\"" + strings.Repeat("(", 200_000) + "\"}"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "the limit is 131072 bytes") || ExitCode(err) != 2 {
		t.Errorf("selector: %v", err)
	}
}

// Values that make no sense are refused, naming the flag and the value, rather than read as
// something else (a NaN time as 1970, a zero timeout as no time at all).
func TestLooseFlagsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "--timeout", "0"}, "--timeout 0s: want a positive duration"},
		{[]string{"up", "--timeout", "-1m"}, "--timeout -1m0s: want a positive duration"},
		{[]string{"up", "--lookback-delta", "-5m"}, "--lookback-delta -5m0s"},
		{[]string{"up", "--max-samples", "-1"}, "--max-samples -1"},
		{[]string{"up", "--connect-timeout", "0"}, "--connect-timeout 0s: want a positive duration"},
		{[]string{"up", "--store-timeout", "-1s"}, "--store-timeout -1s"},
		{[]string{"up", "--time", "NaN"}, `--time: cannot parse "NaN": not a time`},
		{[]string{"up", "--time", "+Inf"}, `--time: cannot parse "+Inf": not a time`},
		{[]string{"up", "--start", "-Inf"}, `--start: cannot parse "-Inf": not a time`},
		{[]string{"up", "--start", "0", "--end", "1e300"}, `--end: "1e300" is out of range`},
	} {
		err := validateQuery(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d), want %q and exit 2", tc.args, err, ExitCode(err), tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout", "0"}, "--timeout 0s: want a positive duration"},
		{[]string{"--lookback-delta", "-1m"}, "--lookback-delta -1m0s"},
		{[]string{"--max-samples", "-5"}, "--max-samples -5"},
	} {
		c := NewServeCommand(NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard()))
		c.SetArgs(tc.args)
		c.SilenceErrors = true
		err := c.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != 2 {
			t.Errorf("serve %v: %v, want %q and exit 2", tc.args, err, tc.want)
		}
	}
}
