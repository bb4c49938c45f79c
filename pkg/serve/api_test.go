package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// get asks a handler without stores: enough for parameters, shapes and errors.
func get(t *testing.T, h http.Handler, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9091"+path+"?"+form.Encode(), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: %q: %v", path, rec.Body.String(), err)
	}
	return rec.Code, body
}

func newTestHandler() http.Handler {
	return NewHandler(Options{Engine: engine.New(engine.Options{}), LoopbackOnly: true, Now: func() time.Time { return time.Unix(1000, 0) }})
}

func TestAnswers(t *testing.T) {
	h := newTestHandler()
	code, body := get(t, h, "/api/v1/query", url.Values{"query": {"1+1"}})
	if code != 200 || fmt.Sprint(body["data"]) != "map[result:[1000 2] resultType:scalar]" {
		t.Errorf("1+1: %d %v", code, body)
	}
	code, body = get(t, h, "/api/v1/query_range", url.Values{"query": {"time()"}, "start": {"0"}, "end": {"120"}, "step": {"1m"}})
	if code != 200 || !strings.Contains(fmt.Sprint(body["data"]), "[[0 0] [60 60] [120 120]]") {
		t.Errorf("range: %d %v", code, body)
	}
	code, body = get(t, h, "/api/v1/labels", nil)
	if code != 200 || fmt.Sprint(body) != "map[data:[] status:success]" {
		t.Errorf("labels without stores: %d %v", code, body)
	}
}

func TestErrors(t *testing.T) {
	h := newTestHandler()
	for _, c := range []struct {
		path string
		form url.Values
		code int
		typ  string
		msg  string
	}{
		{"/api/v1/query", url.Values{"query": {"sum(up"}}, 400, "bad_data", `invalid parameter "query": 1:7: parse error: unclosed left parenthesis`},
		{"/api/v1/query", url.Values{"query": {"up"}, "timeout": {"-1s"}}, 400, "bad_data", `invalid parameter "timeout"`},
		{"/api/v1/query", url.Values{"query": {"up"}, "partial_response": {"x"}}, 400, "bad_data", `invalid parameter "partial_response"`},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "end": {"10"}, "step": {"1"}}, 400, "bad_data", `invalid parameter "start"`},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"86400"}, "step": {"1"}}, 400, "bad_data", "11,000 points"},
		{"/api/v1/series", nil, 400, "bad_data", "no match[] parameter provided"},
		{"/api/v1/labels", url.Values{"match[]": {"up{"}}, 400, "bad_data", `invalid parameter "match[]"`},
		{"/api/v1/labels", url.Values{"limit": {"-1"}}, 400, "bad_data", `invalid parameter "limit"`},
		{"/api/v1/label/%ff/values", nil, 400, "bad_data", "invalid label name"},
	} {
		code, body := get(t, h, c.path, c.form)
		if code != c.code || body["status"] != "error" || body["errorType"] != c.typ || !strings.Contains(fmt.Sprint(body["error"]), c.msg) {
			t.Errorf("%s %v: %d %v, want %d %s %q", c.path, c.form, code, body, c.code, c.typ, c.msg)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		typ  errorType
		code int
	}{
		{fmt.Errorf("store a: %w", status.Error(codes.Unavailable, "connection refused")), errUnavailable, 503},
		{fmt.Errorf("engine: %w", promql.ErrQueryTimeout("query queue")), errTimeout, 503},
		{context.Canceled, errCanceled, 499},
		{&engine.ParseError{Query: "x", Pos: 0, Msg: "bad"}, errBadData, 400},
		{fmt.Errorf("vector cannot contain metrics with the same labelset"), errExec, 422},
	} {
		if got := classify(context.Background(), c.err); got.typ != c.typ || got.typ.code() != c.code {
			t.Errorf("%v: %s %d, want %s %d", c.err, got.typ, got.typ.code(), c.typ, c.code)
		}
	}
	// The engine's own limit is the server's --timeout, not a flag of the client's.
	got := classify(context.Background(), &engine.TimeoutError{Timeout: time.Minute})
	if got.typ != errTimeout || got.err.Error() != "query timed out after 1m0s, the longest this server allows (serve --timeout); narrow the query or its time range" {
		t.Errorf("engine's timeout: %s %v", got.typ, got.err)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:9091": true, "localhost:9091": true, "[::1]:9091": true, "localhost": true, "grafana.localhost:80": true,
		"evil.example:9091": false, "10.0.0.1:9091": false, "127.0.0.1.nip.io:9091": false,
	} {
		if loopbackHost(host) != want {
			t.Errorf("%s: want %t", host, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Unix(42, 0)
	for in, want := range map[string]time.Time{
		"now":                  now,
		"1.2346":               time.Unix(1, 235_000_000).UTC(),
		"2024-05-01T12:00:00Z": time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		timeparse.MinTime.Format(time.RFC3339Nano): timeparse.MinTime,
		timeparse.MaxTime.Format(time.RFC3339Nano): timeparse.MaxTime,
	} {
		if got, err := timeparse.Time(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := timeparse.Duration("NaN"); err == nil {
		t.Error("NaN accepted as a duration")
	}
}

// Shutdown lets a request in flight finish, then returns; nothing answers afterwards.
func TestServeShutdown(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeSignal{Listener: inner, closed: make(chan struct{})}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, 5*time.Second) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	got := make(chan string, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	<-ln.closed // shutdown has begun: it closes the listener before waiting on requests
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("request in flight got %q", s)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := client.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}

// closeSignal tells when the server has stopped accepting.
type closeSignal struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeSignal) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}
