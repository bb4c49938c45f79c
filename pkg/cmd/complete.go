package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

// completeWords completes a flag from a fixed list of values.
func completeWords(words ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeSelector completes a selector flag's metric or label names from the stores.
func completeSelector(o *StoreOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	q := completeQuery(o)
	return func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return q(c, nil, toComplete)
	}
}

// completeQuery completes the identifier at the end of a partly typed query: a metric name, or a
// label name inside braces or a by/without list, by asking the stores. Completion must stay
// quick, so it gives up after a few seconds and offers nothing.
func completeQuery(o *StoreOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		head, word, labelCtx := splitForCompletion(toComplete)
		ctx, cancel := context.WithTimeout(c.Context(), 5*time.Second)
		defer cancel()
		quiet := *o
		quiet.PartialResponse = true
		if quiet.Validate() != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		// No status line: it would land in the shell's completion.
		set, _, err := stores.Open(ctx, quiet.Config())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer set.Close()
		fopts := quiet.FanoutOptions()
		fopts.ReplicaLabels = set.ReplicaLabels
		q, err := (&fanout.Queryable{Stores: set.FanoutStores(), Opts: fopts}).Querier(time.Now().Add(-time.Hour).UnixMilli(), time.Now().UnixMilli())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		if labelCtx {
			names, _, err = q.LabelNames(ctx, nil)
		} else {
			names, _, err = q.LabelValues(ctx, "__name__", nil)
		}
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, word) {
				out = append(out, head+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// splitForCompletion returns the text before the trailing identifier, the identifier, and
// whether a label name (rather than a metric name) belongs there.
func splitForCompletion(s string) (head, word string, label bool) {
	i := len(s)
	for i > 0 && isIdentChar(s[i-1]) {
		i--
	}
	head, word = s[:i], s[i:]
	open := strings.LastIndexAny(head, "{(")
	closeAt := strings.LastIndexAny(head, "})")
	if open > closeAt {
		if head[open] == '{' {
			label = true
		} else {
			before := strings.TrimRight(head[:open], " ")
			label = strings.HasSuffix(before, " by") || strings.HasSuffix(before, " without") ||
				strings.HasSuffix(before, ")by") || strings.HasSuffix(before, ")without") ||
				before == "by" || before == "without" || strings.HasSuffix(before, " on") || strings.HasSuffix(before, " ignoring")
		}
	}
	return head, word, label
}

func isIdentChar(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
