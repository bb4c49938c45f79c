package serve

import (
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// Status is what the status endpoints report besides the stores: the command's flags as given,
// and when it started.
type Status struct {
	Flags   map[string]string
	Started time.Time
}

func writeData(w http.ResponseWriter, data any) {
	body, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(map[string]any{"status": "success", "data": data})
	if err != nil {
		writeError(w, &apiError{typ: errInternal, err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}

type storeStatus struct {
	Name      string              `json:"name"`
	LastCheck time.Time           `json:"lastCheck"`
	LastError *string             `json:"lastError"`
	LabelSets []map[string]string `json:"labelSets"`
	MinTime   int64               `json:"minTime"`
	MaxTime   int64               `json:"maxTime"`
}

// stores answers /api/v1/stores as the Querier does: the stores by component type, with their
// external label sets and time ranges. They were checked when serve connected to them.
func (a *api) stores(w http.ResponseWriter, _ *http.Request) {
	out := map[string][]storeStatus{}
	for _, s := range a.Stores {
		typ := s.Info.ComponentType
		if typ == "" {
			typ = "store"
		}
		st := storeStatus{Name: s.Name, LastCheck: a.Status.Started.UTC(), LabelSets: []map[string]string{}, MinTime: s.Info.MinTime, MaxTime: s.Info.MaxTime}
		for _, ls := range s.Info.LabelSets {
			st.LabelSets = append(st.LabelSets, ls.Map())
		}
		out[typ] = append(out[typ], st)
	}
	for _, ss := range out {
		slices.SortFunc(ss, func(a, b storeStatus) int {
			if a.Name < b.Name {
				return -1
			}
			if a.Name > b.Name {
				return 1
			}
			return 0
		})
	}
	writeData(w, out)
}

func (a *api) flags(w http.ResponseWriter, _ *http.Request) {
	flags := a.Status.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	writeData(w, flags)
}

func (a *api) runtimeInfo(w http.ResponseWriter, _ *http.Request) {
	cwd, _ := os.Getwd()
	writeData(w, map[string]any{
		"startTime":      a.Status.Started.UTC(),
		"CWD":            cwd,
		"goroutineCount": runtime.NumGoroutine(),
		"GOMAXPROCS":     runtime.GOMAXPROCS(0),
		"GOGC":           os.Getenv("GOGC"),
		"GODEBUG":        os.Getenv("GODEBUG"),
	})
}

// formatQuery answers /api/v1/format_query as Prometheus does: the query pretty-printed.
func (a *api) formatQuery(w http.ResponseWriter, r *http.Request) {
	qs := r.FormValue("query")
	if aerr := a.parseQuery(qs); aerr != nil {
		writeError(w, aerr)
		return
	}
	expr, _ := a.parser.ParseExpr(qs)
	writeData(w, expr.Pretty(0))
}
