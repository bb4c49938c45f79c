package serve

import (
	"io"
	"net/http"
	"slices"
	"strconv"

	jsoniter "github.com/json-iterator/go"

	"github.com/globalquery/kubectl-globalquery/pkg/metadata"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

func (a *api) metricMetadata(w http.ResponseWriter, r *http.Request) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer req.cancel()
	mr := store.MetadataRequest{Metric: r.FormValue("metric"), Limit: -1}
	if v := r.FormValue("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			writeError(w, badData("invalid metric metadata limit='%v'", v))
			return
		}
		mr.Limit = int(n)
	}
	md, warns, err := metadata.Read(req.ctx, a.Stores, mr, req.q.Opts.PartialResponse)
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return
	}
	texts := a.warningTexts(warns)
	w.Header().Set("Content-Type", "application/json")
	WriteMetadata(w, md, texts)
}

// WriteMetadata writes metadata as /api/v1/metadata answers it, metrics by name.
func WriteMetadata(w io.Writer, md map[string][]store.Meta, warns []string) error {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	names := make([]string, 0, len(md))
	for n := range md {
		names = append(names, n)
	}
	slices.Sort(names)
	s.WriteRaw(`{"status":"success","data":{`)
	for i, n := range names {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteObjectField(n)
		s.WriteArrayStart()
		for j, m := range md[n] {
			if j > 0 {
				s.WriteMore()
			}
			s.WriteRaw(`{"type":`)
			s.WriteString(m.Type)
			s.WriteRaw(`,"help":`)
			s.WriteString(m.Help)
			s.WriteRaw(`,"unit":`)
			s.WriteString(m.Unit)
			s.WriteObjectEnd()
		}
		s.WriteArrayEnd()
	}
	s.WriteObjectEnd()
	writeWarnings(s, warns)
	s.WriteRaw("}\n")
	_, err := w.Write(s.Buffer())
	return err
}
