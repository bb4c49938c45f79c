package serve

import (
	"io"
	"net/http"
	"strings"

	jsoniter "github.com/json-iterator/go"

	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/targets"
)

var targetStates = map[string]store.TargetState{"": store.AnyTargets, "any": store.AnyTargets, "active": store.ActiveTargets, "dropped": store.DroppedTargets}

func (a *api) targets(w http.ResponseWriter, r *http.Request) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer req.cancel()
	state, ok := targetStates[strings.ToLower(r.FormValue("state"))]
	if !ok {
		writeError(w, badData("invalid targets parameter state='%v'", r.FormValue("state")))
		return
	}
	o := targets.Options{PartialResponse: req.q.Opts.PartialResponse}
	if req.q.Opts.Dedup {
		o.ReplicaLabels = req.q.Opts.ReplicaLabels
	}
	ts, warns, err := targets.Read(req.ctx, a.Stores, state, o)
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return
	}
	texts := a.warningTexts(warns)
	w.Header().Set("Content-Type", "application/json")
	WriteTargets(w, ts, texts)
}

// WriteTargets writes targets as the Querier's /api/v1/targets answers them.
func WriteTargets(w io.Writer, ts *store.TargetsResponse, warns []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteRaw(`{"status":"success","data":{"activeTargets":[`)
	for i := range ts.Active {
		if i > 0 {
			s.WriteMore()
		}
		t := &ts.Active[i]
		s.WriteRaw(`{"discoveredLabels":`)
		output.WriteLabels(s, t.DiscoveredLabels)
		s.WriteRaw(`,"labels":`)
		output.WriteLabels(s, t.Labels)
		s.WriteRaw(`,"scrapePool":`)
		s.WriteString(t.ScrapePool)
		s.WriteRaw(`,"scrapeUrl":`)
		s.WriteString(t.ScrapeURL)
		s.WriteRaw(`,"globalUrl":`)
		s.WriteString(t.GlobalURL)
		s.WriteRaw(`,"lastError":`)
		s.WriteString(t.LastError)
		s.WriteRaw(`,"lastScrape":`)
		writeTime(s, t.LastScrape)
		s.WriteRaw(`,"lastScrapeDuration":`)
		s.WriteFloat64(t.LastScrapeDuration)
		s.WriteRaw(`,"health":`)
		s.WriteString(t.Health.String())
		s.WriteObjectEnd()
	}
	s.WriteRaw(`],"droppedTargets":[`)
	for i := range ts.Dropped {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteRaw(`{"discoveredLabels":`)
		output.WriteLabels(s, ts.Dropped[i].DiscoveredLabels)
		s.WriteObjectEnd()
	}
	s.WriteRaw(`]}`)
	writeWarnings(s, warns)
	s.WriteRaw("}\n")
	_, err := w.Write(s.Buffer())
	return err
}
