package remoteread

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// The series come out sorted by the labels the sidecar would give them, whatever prefixes the
// stored label sets have, and none is lost or repeated.
func TestReorderMatchesAFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"__name__", "a", "b", "cluster", "d", "replica", "z"}
	values := []string{"1", "2"}
	for round := range 300 {
		// Random stored label sets, many of them prefixes of others.
		seen := map[string]labels.Labels{}
		for range 1 + rng.IntN(40) {
			b := labels.NewBuilder(labels.FromStrings("__name__", "m"+values[rng.IntN(2)]))
			for _, n := range names[1:] {
				if n != "cluster" && n != "replica" && rng.IntN(3) == 0 {
					b.Set(n, values[rng.IntN(2)])
				}
			}
			ls := b.Labels()
			seen[ls.String()] = ls
		}
		var stored []labels.Labels
		for _, ls := range seen {
			stored = append(stored, ls)
		}
		slices.SortFunc(stored, labels.Compare)

		ext := labels.FromStrings("cluster", "eu", "replica", "r0")
		var without []string
		if round%2 == 0 {
			without = []string{"replica"}
		}
		rl := newRelabel(ext, without)
		var o reorder
		var want []labels.Labels
		for _, ls := range stored {
			// What Prometheus's handler returns: the stored labels with the external ones merged in.
			b := labels.NewBuilder(ext)
			ls.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
			got := b.Labels()
			if key := rl.key(got); !labels.Equal(key, ls) {
				t.Fatalf("key of %s is %s, want the stored %s", got, key, ls)
			}
			final := rl.final(got)
			want = append(want, final)
			o.push(&item{got: got, key: rl.key(got), series: &store.Series{Labels: final}})
		}
		o.flush()
		slices.SortFunc(want, labels.Compare)
		if len(o.ready) != len(want) {
			t.Fatalf("round %d: %d series out, %d in", round, len(o.ready), len(want))
		}
		for i := range want {
			if !labels.Equal(o.ready[i].Labels, want[i]) {
				t.Fatalf("round %d: series %d is %s, want %s", round, i, o.ready[i].Labels, want[i])
			}
		}
	}
}

// Series are handed on as soon as nothing can overtake them, not at the end of the answer.
func TestReorderStreams(t *testing.T) {
	rl := newRelabel(labels.FromStrings("cluster", "eu"), nil)
	var o reorder
	for i, ls := range []labels.Labels{
		labels.FromStrings("__name__", "a", "job", "x"),
		labels.FromStrings("__name__", "b"),
		labels.FromStrings("__name__", "b", "a", "1"), // extends the one before: overtakes it
		labels.FromStrings("__name__", "c"),
		labels.FromStrings("__name__", "d"),
	} {
		got := rl.final(ls)
		o.push(&item{got: got, key: ls, series: &store.Series{Labels: got}})
		if want := []int{0, 1, 1, 3, 4}[i]; len(o.ready) != want {
			t.Fatalf("after series %d: %d ready, want %d", i, len(o.ready), want)
		}
	}
	if o.ready[1].Labels.Get("a") != "1" {
		t.Fatalf("order %v", o.ready)
	}
}

func TestSplitMatchers(t *testing.T) {
	ext := labels.FromStrings("cluster", "eu", "replica", "r0")
	m := func(typ labels.MatchType, n, v string) *labels.Matcher { return labels.MustNewMatcher(typ, n, v) }
	ok, ms := splitMatchers([]*labels.Matcher{m(labels.MatchRegexp, "cluster", "e.*"), m(labels.MatchEqual, "job", "api")}, ext)
	if !ok || len(ms) != 1 || ms[0].Name != "job" {
		t.Fatalf("regexp on an external label that matches: %v %v", ok, ms)
	}
	if ok, _ := splitMatchers([]*labels.Matcher{m(labels.MatchNotEqual, "cluster", "eu"), m(labels.MatchEqual, "job", "api")}, ext); ok {
		t.Fatal("a matcher the external label fails must rule the store out")
	}
}
