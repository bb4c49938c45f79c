package dedup

import (
	"fmt"
	"strconv"
	"strings"
)

// Algorithm names a way of merging the replicas of one series, with the same
// spelling as Thanos's --deduplication.func flag.
type Algorithm string

const (
	// Penalty follows one replica and only moves to another after a gap
	// longer than twice the last scrape interval.
	Penalty Algorithm = "penalty"
	// Chain interleaves the samples of all replicas by timestamp, keeping one
	// sample per timestamp.
	Chain Algorithm = "chain"
	// Gapfill is not a Thanos algorithm: it follows one replica at its own
	// scrape cadence, fills each missed scrape from another replica, and
	// keeps counters continuous where it switches (see gapfillIterator).
	Gapfill Algorithm = "gapfill"
)

// Algorithms lists the valid names, default first.
func Algorithms() []Algorithm { return []Algorithm{Penalty, Chain, Gapfill} }

func (a Algorithm) String() string { return string(a) }

// ParseAlgorithm validates a user-supplied name. Matching is exact, as for
// Thanos's flag, so "Penalty" is rejected rather than silently accepted.
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if s == string(a) {
			return a, nil
		}
	}
	names := make([]string, len(Algorithms()))
	for i, a := range Algorithms() {
		names[i] = strconv.Quote(string(a))
	}
	last := len(names) - 1
	return "", fmt.Errorf("unknown deduplication algorithm %q: valid values are %s and %s", s, strings.Join(names[:last], ", "), names[last])
}

// IsCounterFunc reports whether the select hint function makes the penalty
// algorithm counter-aware. The list is deliberately Thanos's, not a complete
// list of counter functions: delta-style functions such as idelta get no
// adjustment there, so they must get none here either.
func IsCounterFunc(fn string) bool {
	switch fn {
	case "increase", "rate", "irate", "resets":
		return true
	}
	return false
}

// AppliesCounterResets reports whether Thanos reads each replica's chunks
// through its counter-reset accumulator (see NewLaneIterator) for the select
// hint function. It is a superset of IsCounterFunc: the two lists live in
// different places in Thanos and differ by the x-functions.
func AppliesCounterResets(fn string) bool {
	switch fn {
	case "increase", "rate", "irate", "resets", "xincrease", "xrate":
		return true
	}
	return false
}
