package serve

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	jsoniter "github.com/json-iterator/go"

	"github.com/globalquery/kubectl-globalquery/pkg/exemplars"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

func (a *api) queryExemplars(w http.ResponseWriter, r *http.Request) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer req.cancel()
	xr := store.ExemplarsRequest{Query: r.FormValue("query"), Start: timeparse.MinTime.UnixMilli(), End: timeparse.MaxTime.UnixMilli()}
	now := a.Now()
	for _, p := range []struct {
		name string
		to   *int64
	}{{"start", &xr.Start}, {"end", &xr.End}} {
		if v := r.FormValue(p.name); v != "" {
			t, err := timeparse.Time(v, now)
			if err != nil {
				writeError(w, badParam(p.name, err))
				return
			}
			*p.to = t.UnixMilli()
		}
	}
	if xr.End < xr.Start {
		writeError(w, badParam("end", errors.New("end is before start")))
		return
	}
	if aerr := a.parseQuery(xr.Query); aerr != nil {
		writeError(w, aerr)
		return
	}
	var replicaLabels []string
	if req.q.Opts.Dedup {
		replicaLabels = req.q.Opts.ReplicaLabels
	}
	data, warns, err := exemplars.Read(req.ctx, a.Stores, xr, req.q.Opts.PartialResponse, replicaLabels)
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return
	}
	texts := a.warningTexts(warns)
	w.Header().Set("Content-Type", "application/json")
	WriteExemplars(w, data, texts)
}

// WriteExemplars writes exemplars as /api/v1/query_exemplars answers them.
func WriteExemplars(w io.Writer, data []store.ExemplarData, warns []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	s.WriteRaw(`{"status":"success","data":[`)
	for i, d := range data {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteRaw(`{"seriesLabels":`)
		output.WriteLabels(s, d.SeriesLabels)
		s.WriteRaw(`,"exemplars":[`)
		for j, e := range d.Exemplars {
			if j > 0 {
				s.WriteMore()
			}
			s.WriteRaw(`{"labels":`)
			output.WriteLabels(s, e.Labels)
			s.WriteRaw(`,"value":`)
			s.WriteString(strconv.FormatFloat(e.Value, 'f', -1, 64))
			s.WriteRaw(`,"timestamp":`)
			s.WriteRaw(strconv.FormatFloat(float64(e.Ts)/1000, 'f', -1, 64))
			s.WriteObjectEnd()
		}
		s.WriteRaw(`]}`)
	}
	s.WriteRaw(`]`)
	writeWarnings(s, warns)
	s.WriteRaw("}\n")
	_, err := w.Write(s.Buffer())
	return err
}
