package e2e

import (
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
)

func storeByCluster(t *testing.T, stores []*fanout.Store, prefix string) []*fanout.Store {
	t.Helper()
	var out []*fanout.Store
	for _, s := range stores {
		if strings.HasPrefix(s.Info.LabelSets[0].Get("cluster"), prefix) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no store with cluster %s*", prefix)
	}
	return out
}

// A matcher on an external label must keep the request away from stores that cannot match.
func TestStorePruningByExternalLabels(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	stores := paths[0].stores
	eu, us := storeByCluster(t, stores, "europe/"), storeByCluster(t, stores, "united-states/")
	before := func(ss []*fanout.Store) []int64 {
		var n []int64
		for _, s := range ss {
			n = append(n, s.Stats.SeriesCalls.Load())
		}
		return n
	}
	euBefore, usBefore := before(eu), before(us)
	usCluster := us[0].Info.LabelSets[0].Get("cluster")
	got := runOurs(t, stores, []string{`count(up{cluster="` + usCluster + `"})`, "-o", "json"})
	if got.Status != "success" || !strings.Contains(string(got.Data.Result), `"value"`) {
		t.Fatalf("query failed or empty: %+v", got)
	}
	for i, s := range eu {
		if d := s.Stats.SeriesCalls.Load() - euBefore[i]; d != 0 {
			t.Errorf("store %s got %d Series calls for a query that only %s can answer", s.Name, d, usCluster)
		}
	}
	for i, s := range us {
		if d := s.Stats.SeriesCalls.Load() - usBefore[i]; d != 1 {
			t.Errorf("store %s got %d Series calls, want 1", s.Name, d)
		}
	}
}

// Thanos ≥ 0.41 sidecars send batches when asked; without the ask, one series per message.
// Both decoders meet the real sidecar here, and the answers agree.
func TestSeriesBatchFrames(t *testing.T) {
	paths := connectPaths(t)
	defer closePaths(paths)
	stores := paths[0].stores
	s := storeByCluster(t, stores, "united-states/")[0]
	read := func(args ...string) (series, frames int64, body string) {
		s0, f0 := s.Stats.SeriesRead.Load(), s.Stats.FramesRead.Load()
		r := runOurs(t, stores, append([]string{`count(http_requests_total)`, "-o", "json", "--time", strings.TrimSuffix(secs(theBed.HistoryEnd-60_000), ".000")}, args...))
		return s.Stats.SeriesRead.Load() - s0, s.Stats.FramesRead.Load() - f0, string(r.Data.Result)
	}
	sb, fb, batched := read()
	ss, fs, single := read("--series-batch-size=0")
	if sb < 4 || fb >= sb {
		t.Errorf("batched: %d series in %d frames, want fewer frames than series", sb, fb)
	}
	if fs < ss {
		t.Errorf("unbatched: %d series in %d frames, want a frame per series", ss, fs)
	}
	if batched != single {
		t.Errorf("answers differ: batched %s, single %s", batched, single)
	}
}
