package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// hangGuard bounds a wait that only a bug makes long.
const hangGuard = 30 * time.Second

// stuckStore never answers a Series call: it waits for the call's context to end, and counts
// the calls that began and the ones whose context ended.
type stuckStore struct {
	began, ended     atomic.Int64
	started          chan struct{} // closed when the first call begins
	cancelled        chan struct{} // closed when the first call's context ends
	startOnce, cOnce sync.Once
}

func newStuckStore() *stuckStore {
	return &stuckStore{started: make(chan struct{}), cancelled: make(chan struct{})}
}

func (s *stuckStore) Series(ctx context.Context, _ *store.SeriesRequest) (store.SeriesStream, error) {
	s.began.Add(1)
	s.startOnce.Do(func() { close(s.started) })
	<-ctx.Done()
	s.ended.Add(1)
	s.cOnce.Do(func() { close(s.cancelled) })
	return nil, ctx.Err()
}

func (*stuckStore) LabelNames(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}

func (*stuckStore) LabelValues(context.Context, *store.LabelsRequest) (*store.LabelsResponse, error) {
	return &store.LabelsResponse{}, nil
}

func stuckHandler(s *stuckStore, timeout time.Duration, split time.Duration) http.Handler {
	eng := engine.New(engine.Options{Timeout: timeout})
	return NewHandler(Options{
		Stores:   []*fanout.Store{{Name: "stuck", Client: s, Info: store.Info{IsStore: true, MinTime: math.MinInt64, MaxTime: math.MaxInt64}}},
		Engine:   eng,
		Frontend: frontend.New(eng, frontend.Options{SplitInterval: split}),
		Now:      func() time.Time { return time.Unix(100_000, 0) },
	})
}

// A request's timeout parameter bounds it, and the answer names the parameter, not a flag.
func TestRequestTimeoutNamesTheParameter(t *testing.T) {
	h := stuckHandler(newStuckStore(), time.Hour, 0)
	code, body := get(t, h, "/api/v1/query", url.Values{"query": {"up"}, "timeout": {"0.05"}})
	msg := fmt.Sprint(body["error"])
	if code != 503 || body["errorType"] != "timeout" || !strings.Contains(msg, "after 50ms (timeout=0.05)") {
		t.Errorf("%d %v", code, body)
	}
	for _, wrong := range []string{"--timeout", "1h0m0s", "deadline exceeded", "rpc error"} {
		if strings.Contains(msg, wrong) {
			t.Errorf("message %q says %q", msg, wrong)
		}
	}
}

// The server's --timeout caps a request's, and bounds a range query as a whole, split parts
// included; the answer says it is the server's limit.
func TestServerTimeoutCapsTheRequest(t *testing.T) {
	h := stuckHandler(newStuckStore(), 50*time.Millisecond, time.Hour)
	for _, form := range []url.Values{
		{"query": {"up"}, "timeout": {"1h"}},
		{"query": {"up"}, "start": {"0"}, "end": {"86400"}, "step": {"60"}},
	} {
		path := "/api/v1/query"
		if form.Has("step") {
			path = "/api/v1/query_range"
		}
		code, body := get(t, h, path, form)
		msg := fmt.Sprint(body["error"])
		if code != 503 || body["errorType"] != "timeout" || !strings.Contains(msg, "after 50ms, the longest this server allows (serve --timeout)") || strings.Contains(msg, "timeout=") {
			t.Errorf("%s %v: %d %v", path, form, code, body)
		}
	}
	// Metadata requests too.
	answered := make(chan string, 1)
	go func() {
		code, body := get(t, h, "/api/v1/series", url.Values{"match[]": {"up"}})
		answered <- fmt.Sprint(code, " ", body["error"])
	}()
	select {
	case got := <-answered:
		if !strings.HasPrefix(got, "503 ") || !strings.Contains(got, "serve --timeout") {
			t.Errorf("series: %s", got)
		}
	case <-time.After(hangGuard):
		t.Fatal("series: no answer: the server's --timeout does not bound it")
	}
}

// A client that goes away cancels the evaluation of its query: every store read it started
// sees its context end, with no timeout to end it otherwise.
func TestClientDisconnectCancelsEvaluation(t *testing.T) {
	for _, path := range []string{
		"/api/v1/query?query=" + url.QueryEscape("count(up) + sum(rate(up[1h]))"),
		// Split into many parts, evaluated in parallel.
		"/api/v1/query_range?query=" + url.QueryEscape("sum(rate(up[5m]))") + "&start=0&end=86400&step=60",
	} {
		s := newStuckStore()
		srv := httptest.NewServer(stuckHandler(s, time.Hour, time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		done := make(chan error, 1)
		go func() {
			resp, err := srv.Client().Do(req)
			if err == nil {
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				err = fmt.Errorf("answered: %d %v", resp.StatusCode, body)
			}
			done <- err
		}()
		select {
		case <-s.started:
		case err := <-done:
			t.Fatalf("%s: %v before any store was read", path, err)
		case <-time.After(hangGuard):
			t.Fatalf("%s: no store read began", path)
		}
		cancel()
		select {
		case <-s.cancelled:
		case <-time.After(hangGuard):
			t.Fatalf("%s: the client went away, but the store read goes on", path)
		}
		if err := <-done; !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("%s: client: %v", path, err)
		}
		srv.Close() // waits for the handler
		if b, e := s.began.Load(), s.ended.Load(); b != e {
			t.Errorf("%s: %d store reads began, %d ended", path, b, e)
		}
	}
}
