// Package serve answers the Prometheus HTTP API (/api/v1/query, query_range, series, labels,
// label values, status/buildinfo) over stores that are already connected, so that Grafana,
// promtool or a browser can use the deduplicated global view. Thanos Querier's dedup,
// partial_response and replicaLabels[] parameters override the defaults per request.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/failure"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
	"github.com/globalquery/kubectl-globalquery/pkg/output"
	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// Options configure the API.
type Options struct {
	Stores []*fanout.Store
	// Fanout is how the stores' answers combine unless a request says otherwise.
	Fanout fanout.Options
	Engine *engine.Engine
	// Frontend splits, retries, caches and logs queries; nil evaluates them with Engine as they
	// come.
	Frontend *frontend.Frontend
	// Warnings go into every answer: stores that were down at start stay missing.
	Warnings []string
	// LoopbackOnly refuses requests whose Host header is not a loopback name or address. A web
	// page can point a name of its own at 127.0.0.1 (DNS rebinding) and then read the API as if
	// it were its own origin; checking Host stops that.
	LoopbackOnly bool
	BuildInfo    BuildInfo
	Status       Status
	Now          func() time.Time // default time.Now
}

// BuildInfo is the data of /api/v1/status/buildinfo.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

type api struct {
	Options
	parser parser.Parser
}

// NewHandler returns the API's routes.
func NewHandler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Frontend == nil {
		o.Frontend = frontend.New(o.Engine, frontend.Options{})
	}
	// The engine's own parser options, so that both accept the same queries.
	a := &api{Options: o, parser: parser.NewParser(parser.Options{})}
	mux := http.NewServeMux()
	// Clients POST long queries as forms and fall back to GET on 405, as Prometheus allows both.
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(m+" /api/v1/query", a.query)
		mux.HandleFunc(m+" /api/v1/query_range", a.queryRange)
		mux.HandleFunc(m+" /api/v1/series", a.series)
		mux.HandleFunc(m+" /api/v1/labels", a.labels)
	}
	mux.HandleFunc("GET /api/v1/label/{name}/values", a.labelValues)
	mux.HandleFunc("GET /api/v1/rules", a.rules)
	mux.HandleFunc("GET /api/v1/alerts", a.alerts)
	mux.HandleFunc("GET /api/v1/targets", a.targets)
	mux.HandleFunc("GET /api/v1/metadata", a.metricMetadata)
	mux.HandleFunc("GET /api/v1/stores", a.stores)
	mux.HandleFunc("GET /api/v1/status/flags", a.flags)
	mux.HandleFunc("GET /api/v1/status/runtimeinfo", a.runtimeInfo)
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /api/v1/query_exemplars", a.queryExemplars)
		mux.HandleFunc(m+" /api/v1/format_query", a.formatQuery)
	}
	mux.HandleFunc("GET /api/v1/status/buildinfo", a.buildInfo)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "globalquery is Healthy.")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "globalquery is Ready.")
	})
	// The mux answers other methods with a plain-text 405; clients of the API read errors as JSON.
	for _, p := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels"} {
		mux.HandleFunc(p, methodNotAllowed(http.MethodGet, http.MethodPost))
	}
	for _, p := range []string{"/api/v1/label/{name}/values", "/api/v1/status/buildinfo"} {
		mux.HandleFunc(p, methodNotAllowed(http.MethodGet))
	}
	if !o.LoopbackOnly {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeError(w, &apiError{typ: errBadData, status: http.StatusForbidden,
				err: fmt.Errorf("host %q is not a loopback address; listen on a non-loopback address to serve other hosts", r.Host)})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// methodNotAllowed refuses the methods a route does not serve; GET routes serve HEAD too.
func methodNotAllowed(methods ...string) http.HandlerFunc {
	allow := strings.Replace(strings.Join(methods, ", "), http.MethodGet, "GET, HEAD", 1)
	use := strings.Join(methods, " or ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, &apiError{typ: errBadData, status: http.StatusMethodNotAllowed,
			err: fmt.Errorf("method %s is not allowed on %s: use %s", r.Method, r.URL.Path, use)})
	}
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// request holds what every data endpoint parses first.
type request struct {
	ctx    context.Context
	cancel context.CancelFunc
	q      *fanout.Queryable
}

// begin parses the form, the Thanos parameters and the timeout. Unless it fails, the caller must
// call the request's cancel.
func (a *api) begin(r *http.Request) (*request, *apiError) {
	if err := r.ParseForm(); err != nil {
		return nil, badData("cannot parse the form: %w", err)
	}
	opts := a.Fanout
	if v := r.FormValue("dedup"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badParam("dedup", err)
		}
		opts.Dedup = b
	}
	if v := r.FormValue("partial_response"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badParam("partial_response", err)
		}
		opts.PartialResponse = b
	}
	if rl := r.Form["replicaLabels[]"]; len(rl) > 0 {
		opts.ReplicaLabels = rl
	}
	limit, aerr := a.timeout(r)
	if aerr != nil {
		return nil, aerr
	}
	// From the request's context, so that a client that goes away cancels the evaluation; the
	// whole request within the limit, split parts and retries included.
	ctx, cancel := context.WithTimeoutCause(r.Context(), limit.d, limit)
	return &request{ctx: ctx, cancel: cancel, q: &fanout.Queryable{Stores: a.Stores, Opts: opts}}, nil
}

func (a *api) timeParam(r *http.Request, name string, def time.Time) (time.Time, *apiError) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := timeparse.Time(v, a.Now())
	if err != nil {
		return time.Time{}, badParam(name, err)
	}
	return t, nil
}

// parseQuery reports a bad query with the parser's own message, as Prometheus does, rather
// than the command line's caret rendering.
func (a *api) parseQuery(qs string) *apiError {
	if err := engine.CheckLimits(qs); err != nil {
		return badParam("query", err)
	}
	if _, err := a.parser.ParseExpr(qs); err != nil {
		return badParam("query", err)
	}
	return nil
}

func (a *api) query(w http.ResponseWriter, r *http.Request) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer req.cancel()
	ts, aerr := a.timeParam(r, "time", a.Now())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	qs := r.FormValue("query")
	if aerr := a.parseQuery(qs); aerr != nil {
		writeError(w, aerr)
		return
	}
	res, err := a.Frontend.Instant(req.ctx, frontend.Request{Query: qs, Start: ts, Stores: req.q.Stores, Fanout: req.q.Opts})
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	output.WriteJSON(w, res.Value, qs, failure.WordAnnotations(res.Warnings, Words), a.Warnings)
}

func (a *api) queryRange(w http.ResponseWriter, r *http.Request) {
	req, aerr := a.begin(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer req.cancel()
	start, end, step, aerr := a.rangeParams(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	qs := r.FormValue("query")
	if aerr := a.parseQuery(qs); aerr != nil {
		writeError(w, aerr)
		return
	}
	res, err := a.Frontend.Range(req.ctx, frontend.Request{Query: qs, Start: start, End: end, Step: step, Stores: req.q.Stores, Fanout: req.q.Opts})
	if err != nil {
		writeError(w, classify(req.ctx, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	output.WriteJSON(w, res.Value, qs, failure.WordAnnotations(res.Warnings, Words), a.Warnings)
}

// rangeParams reads start, end and step, which a range query must name.
func (a *api) rangeParams(r *http.Request) (start, end time.Time, step time.Duration, _ *apiError) {
	var err error
	now := a.Now()
	if start, err = timeparse.Time(r.FormValue("start"), now); err != nil {
		return start, end, step, badParam("start", err)
	}
	if end, err = timeparse.Time(r.FormValue("end"), now); err != nil {
		return start, end, step, badParam("end", err)
	}
	if end.Before(start) {
		return start, end, step, badParam("end", errors.New("end is before start"))
	}
	if step, err = timeparse.Duration(r.FormValue("step")); err != nil {
		return start, end, step, badParam("step", err)
	}
	if step <= 0 {
		return start, end, step, badParam("step", errors.New("step must be positive"))
	}
	if err := timeparse.CheckPoints(start, end, step); err != nil {
		return start, end, step, badParam("step", fmt.Errorf("step %v", err))
	}
	return start, end, step, nil
}

// metaParams reads what series, labels and label values share: the time range, match[] and limit.
func (a *api) metaParams(r *http.Request) (start, end time.Time, sels [][]*labels.Matcher, limit int, _ *apiError) {
	var aerr *apiError
	if start, aerr = a.timeParam(r, "start", timeparse.MinTime); aerr != nil {
		return start, end, nil, 0, aerr
	}
	if end, aerr = a.timeParam(r, "end", timeparse.MaxTime); aerr != nil {
		return start, end, nil, 0, aerr
	}
	if end.Before(start) {
		return start, end, nil, 0, badParam("end", errors.New("end is before start"))
	}
	if v := r.FormValue("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return start, end, nil, 0, badParam("limit", fmt.Errorf("want a non-negative integer, got %q", v))
		}
		limit = n
	}
	for _, m := range r.Form["match[]"] {
		if err := engine.CheckLimits(m); err != nil {
			return start, end, nil, 0, badParam("match[]", err)
		}
		ms, err := a.parser.ParseMetricSelector(m)
		if err != nil {
			return start, end, nil, 0, badParam("match[]", err)
		}
		if matchesEverything(ms) {
			return start, end, nil, 0, badParam("match[]", fmt.Errorf("%s matches every series: give at least one matcher that does not match the empty string", m))
		}
		sels = append(sels, ms)
	}
	return start, end, sels, limit, nil
}

func matchesEverything(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return false
		}
	}
	return true
}

// metaRequest is a series or label request with its Querier open over the request's time range.
type metaRequest struct {
	*request
	querier    storage.Querier
	start, end int64 // ms
	sels       [][]*labels.Matcher
	limit      int
}

// beginMeta is the start the series and label handlers share. needMatch makes a missing match[]
// the error reported, ahead of any other parameter's. Unless it fails, the caller must close
// what it returns: the Querier first, then the request's context.
func (a *api) beginMeta(r *http.Request, needMatch bool) (*metaRequest, *apiError) {
	req, aerr := a.begin(r)
	if aerr != nil {
		return nil, aerr
	}
	if needMatch && len(r.Form["match[]"]) == 0 {
		req.cancel()
		return nil, badData("no match[] parameter provided")
	}
	start, end, sels, limit, aerr := a.metaParams(r)
	if aerr != nil {
		req.cancel()
		return nil, aerr
	}
	q, err := req.q.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		req.cancel()
		return nil, classify(req.ctx, err)
	}
	return &metaRequest{request: req, querier: q, start: start.UnixMilli(), end: end.UnixMilli(), sels: sels, limit: limit}, nil
}

func (m *metaRequest) close() {
	m.querier.Close()
	m.cancel()
}

func (a *api) series(w http.ResponseWriter, r *http.Request) {
	m, aerr := a.beginMeta(r, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer m.close()
	// One more than the limit tells whether the answer was cut.
	series, warns, err := SelectSeries(m.ctx, m.querier, m.sels, m.start, m.end, hintLimit(m.limit))
	if err != nil {
		writeError(w, classify(m.ctx, err))
		return
	}
	texts := append(append([]string(nil), a.Warnings...), AnnotationStrings(warns, Words)...)
	if m.limit > 0 && len(series) > m.limit {
		series = series[:m.limit]
		texts = append(texts, "results truncated due to limit")
	}
	w.Header().Set("Content-Type", "application/json")
	output.WriteSeriesJSON(w, series, texts)
}

func (a *api) labels(w http.ResponseWriter, r *http.Request) {
	a.labelStrings(w, r, "")
}

func (a *api) labelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// Names that are not valid in a URL path arrive escaped, as client_golang sends them.
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if name == "" || !model.UTF8Validation.IsValidLabelName(name) {
		writeError(w, badData("invalid label name: %q", name))
		return
	}
	a.labelStrings(w, r, name)
}

func (a *api) labelStrings(w http.ResponseWriter, r *http.Request, name string) {
	m, aerr := a.beginMeta(r, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer m.close()
	vals, warns, err := Labels(m.ctx, m.querier, name, m.sels, hintLimit(m.limit))
	if err != nil {
		writeError(w, classify(m.ctx, err))
		return
	}
	texts := append(append([]string(nil), a.Warnings...), AnnotationStrings(warns, Words)...)
	if m.limit > 0 && len(vals) > m.limit {
		vals = vals[:m.limit]
		texts = append(texts, "results truncated due to limit")
	}
	if vals == nil {
		vals = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	output.WriteStringsJSON(w, vals, texts)
}

func hintLimit(limit int) int {
	if limit > 0 {
		return limit + 1
	}
	return 0
}

func (a *api) buildInfo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	jsoniter.ConfigCompatibleWithStandardLibrary.NewEncoder(w).Encode(struct {
		Status string    `json:"status"`
		Data   BuildInfo `json:"data"`
	}{"success", a.BuildInfo})
}
