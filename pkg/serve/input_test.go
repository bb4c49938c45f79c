package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// Times that are not times are refused as Prometheus refuses them, not read as some instant.
func TestNotATime(t *testing.T) {
	h := newTestHandler()
	for _, v := range []string{"NaN", "nan", "+Inf", "-Inf", "Inf", "infinity", "1e300", "-1e300"} {
		for _, c := range []struct {
			path  string
			form  url.Values
			param string
		}{
			{"/api/v1/query", url.Values{"query": {"1"}, "time": {v}}, "time"},
			{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {v}, "end": {"60"}, "step": {"15"}}, "start"},
			{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {v}, "step": {"15"}}, "end"},
			{"/api/v1/labels", url.Values{"start": {v}}, "start"},
		} {
			code, body := get(t, h, c.path, c.form)
			want := fmt.Sprintf("invalid parameter %q: ", c.param)
			if code != 400 || body["errorType"] != "bad_data" || !strings.HasPrefix(fmt.Sprint(body["error"]), want) || !strings.Contains(fmt.Sprint(body["error"]), v) {
				t.Errorf("%s %v: %d %v", c.path, c.form, code, body)
			}
		}
	}
	if _, err := timeparse.Time("1e9", time.Now()); err != nil {
		t.Errorf("1e9 seconds: %v", err)
	}
}

// A query nested far too deep is refused at once, naming the limit, before the parser spends
// anything on it; so is one far too long, or a selector.
func TestQueryLimits(t *testing.T) {
	h := newTestHandler()
	nested := func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
	for _, c := range []struct {
		path string
		form url.Values
		msg  string
	}{
		{"/api/v1/query", url.Values{"query": {nested(100_000)}}, `invalid parameter "query": query is 200001 bytes long; the limit is 131072 bytes (128 KiB)`},
		{"/api/v1/query", url.Values{"query": {nested(30_000)}}, `invalid parameter "query": query nests brackets ( [ { and signs more than 256 levels deep (at byte 256); the limit is 256 levels`},
		{"/api/v1/query", url.Values{"query": {strings.Repeat("-", 100_000) + "1"}}, "the limit is 256 levels"},
		{"/api/v1/query_range", url.Values{"query": {strings.Repeat("1+", 60_000) + "1"}, "start": {"0"}, "end": {"60"}, "step": {"15"}}, "the limit is 1024 operators"},
		{"/api/v1/series", url.Values{"match[]": {"up{a=\"" + strings.Repeat("x", 200_000) + "\"}"}}, `invalid parameter "match[]": query is 200008 bytes long`},
	} {
		code, body := get(t, h, c.path, c.form)
		if code != 400 || body["errorType"] != "bad_data" || !strings.Contains(fmt.Sprint(body["error"]), c.msg) {
			t.Errorf("%s: %d %.300v, want %q", c.path, code, body, c.msg)
		}
	}
	// At the limit, a query is evaluated.
	code, body := get(t, h, "/api/v1/query", url.Values{"query": {nested(256)}})
	if code != 200 {
		t.Errorf("256 levels: %d %v", code, body)
	}
}

// Refusals outside the handlers are the API's JSON too, so that clients can show them.
func TestRefusalsAreJSON(t *testing.T) {
	h := newTestHandler()
	for _, c := range []struct {
		method, url string
		code        int
		allow, msg  string
	}{
		{http.MethodGet, "http://evil.example:9091/api/v1/query?query=up", 403, "", `host "evil.example:9091" is not a loopback address`},
		{http.MethodDelete, "http://127.0.0.1:9091/api/v1/query", 405, "GET, HEAD, POST", "method DELETE is not allowed on /api/v1/query: use GET or POST"},
		{http.MethodPut, "http://127.0.0.1:9091/api/v1/series", 405, "GET, HEAD, POST", "method PUT is not allowed"},
		{http.MethodPost, "http://127.0.0.1:9091/api/v1/label/job/values", 405, "GET, HEAD", "use GET"},
		{http.MethodPost, "http://127.0.0.1:9091/api/v1/status/buildinfo", 405, "GET, HEAD", "use GET"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.url, nil))
		var body map[string]any
		err := json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.code || err != nil || rec.Header().Get("Content-Type") != "application/json" ||
			body["status"] != "error" || body["errorType"] != "bad_data" || !strings.Contains(fmt.Sprint(body["error"]), c.msg) {
			t.Errorf("%s %s: %d %s %q", c.method, c.url, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		if got := rec.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.url, got, c.allow)
		}
	}
	// The methods that are allowed still reach their handlers.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9091/api/v1/query", strings.NewReader("query=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("POST query: %d %s", rec.Code, rec.Body.String())
	}
}
