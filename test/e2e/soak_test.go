package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 2,000 queries through serve over kube tunnels, of every kind serve answers, eight at a time:
// afterwards goroutines, open file descriptors and tunnels are where they were after the first
// query, and where they were before serve once it stops. A leak of one stream or connection per
// query would show as thousands; goleak names each goroutine left over.
func TestServeSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 queries")
	}
	before, fdsBefore := goroutinesNow(), openFDs(t)
	s := startServe(t, "--kubeconfig="+theBed.Kubeconfig, "-q")
	client := &http.Client{Timeout: time.Minute}
	he := theBed.HistoryEnd
	calls := []func(i int) (string, url.Values){
		func(i int) (string, url.Values) {
			return "/api/v1/query", url.Values{"query": {`sum by (cluster) (rate(http_requests_total[5m]))`}, "time": {secs(he - int64(i%600)*60_000)}}
		},
		func(i int) (string, url.Values) {
			return "/api/v1/query", url.Values{"query": {`count(up) by (job)`}, "time": {secs(he - int64(i%300)*30_000)}, "dedup": {strconv.FormatBool(i%2 == 0)}}
		},
		func(i int) (string, url.Values) {
			end := he - int64(i%120)*60_000
			return "/api/v1/query_range", url.Values{"query": {`max by (instance) (up)`}, "start": {secs(end - 3600_000)}, "end": {secs(end)}, "step": {"60"}}
		},
		func(i int) (string, url.Values) {
			return "/api/v1/series", url.Values{"match[]": {`up{job="api"}`}, "start": {secs(he - 3600_000)}, "end": {secs(he)}}
		},
		func(i int) (string, url.Values) {
			return "/api/v1/labels", url.Values{"start": {secs(he - 3600_000)}, "end": {secs(he)}}
		},
		func(i int) (string, url.Values) {
			return "/api/v1/label/job/values", url.Values{"match[]": {`up`}}
		},
		func(i int) (string, url.Values) {
			return "/api/v1/query", url.Values{"query": {`sum(rate(`}} // a parse error, answered 400
		},
	}
	call := func(i int) (int, error) {
		path, form := calls[i%len(calls)](i)
		resp, err := client.Get(s.url + path + "?" + form.Encode())
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var buf [4096]byte
		for {
			if _, err := resp.Body.Read(buf[:]); err != nil {
				break
			}
		}
		return resp.StatusCode, nil
	}
	// The first round opens the tunnels: the baseline is after it.
	for i := range len(calls) {
		if _, err := call(i); err != nil {
			t.Fatal(err)
		}
	}
	client.CloseIdleConnections()
	afterFirst, fds := goroutinesNow(), openFDs(t)

	const total, workers = 2000, 8
	var (
		next, failed atomic.Int64
		wg           sync.WaitGroup
		mu           sync.Mutex
		firstErr     string
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				code, err := call(i)
				want := http.StatusOK
				if i%len(calls) == len(calls)-1 {
					want = http.StatusBadRequest
				}
				if err != nil || code != want {
					failed.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = "query " + strconv.Itoa(i) + ": status " + strconv.Itoa(code) + ", want " + strconv.Itoa(want) + ", error " + errString(err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d queries in %s", total, time.Since(start).Round(time.Millisecond))
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d queries failed; first: %s", n, total, firstErr)
	}
	client.CloseIdleConnections()
	afterFirst.noneLeft(t, fmt.Sprintf("after %d queries, besides those after the first round", total))
	if f := fdsSettle(t, fds+2, 10*time.Second); f > fds+2 {
		t.Errorf("after %d queries: %d fds open, %d after the first round", total, f, fds)
	}

	s.stop()
	before.noneLeft(t, "after serve stopped")
	if f := fdsSettle(t, fdsBefore+2, 10*time.Second); f > fdsBefore+2 {
		t.Errorf("after serve stopped: %d fds open, %d before it started", f, fdsBefore)
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}
