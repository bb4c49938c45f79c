// Package remoteread reads a Prometheus that has no Thanos sidecar through the remote-read API of
// its web port, and answers the fanout's StoreClient as the sidecar would for the same
// Prometheus: the same external labels, the same handling of matchers on them and of replica
// labels, series sorted the same way. The sidecar itself reads Prometheus through this same API,
// so the data is the same too.
package remoteread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/globalquery/kubectl-globalquery/pkg/store"
)

// DefaultPort is Prometheus's web port, named `web` in prometheus-operated.
const DefaultPort = 9090

// Client reads one Prometheus.
type Client struct {
	base string // http://host:port, without a trailing slash
	hc   *http.Client
	tr   *http.Transport

	mu      sync.Mutex
	ext     labels.Labels
	minTime int64
	// labelMatchers: the label APIs take match[] (Prometheus ≥ 2.24 by a semantic version).
	labelMatchers bool
}

// New returns a client of the Prometheus that dial reaches, e.g. through a port-forward tunnel.
// where names it in URLs and errors (pod:port).
func New(where string, dial func(ctx context.Context) (net.Conn, error)) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		// Every connection is a port-forward stream: keep some for the concurrent selects of one
		// query rather than open new ones each time.
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{base: "http://" + where, hc: &http.Client{Transport: tr}, tr: tr}
}

// NewURL returns a client of the Prometheus at base (http://host:port), for Prometheus servers
// reachable directly.
func NewURL(base string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &Client{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr}, tr: tr}
}

// Close drops the idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

var _ store.StoreClient = (*Client)(nil)

func (c *Client) state() (labels.Labels, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ext, c.minTime
}

// Series streams the series of one selection through remote read.
func (c *Client) Series(ctx context.Context, r *store.SeriesRequest) (store.SeriesStream, error) {
	ext, minTime := c.state()
	ok, ms := splitMatchers(r.Matchers, ext)
	if !ok {
		return empty{}, nil
	}
	if len(ms) == 0 {
		return nil, errNoMatchers
	}
	// As the sidecar: never ask for more than the TSDB holds.
	mint := max(r.MinTime, minTime)
	if mint > r.MaxTime {
		return empty{}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := c.post(ctx, marshalReadRequest(mint, r.MaxTime, ms))
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{
		body: resp.Body, fr: newFrameReader(resp.Body), cancel: cancel,
		rl: newRelabel(ext, r.WithoutReplicaLabels), skip: r.SkipChunks,
	}, nil
}

// errNoMatchers is the sidecar's refusal, worded for people: Prometheus would read every series.
var errNoMatchers = fmt.Errorf("rejected the request: no matchers specified (excluding external labels); select on a label of the series themselves")

const streamedType = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

// post sends a remote-read request with the headers Prometheus's own remote-read client sends.
func (c *Client) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/read", bytes.NewReader(snappy.Encode(nil, body)))
	if err != nil {
		return nil, err
	}
	req.Header.Add("Content-Encoding", "snappy")
	req.Header.Add("Accept-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.explain("remote read", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, fmt.Errorf("remote read: Prometheus answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, streamedType) {
		resp.Body.Close()
		return nil, fmt.Errorf("remote read: Prometheus answered with %q instead of streamed chunks (it is older than 2.13, or not a Prometheus)", ct)
	}
	return resp, nil
}

const userAgent = "kubectl-globalquery"

// explain words a failed request: which API of which Prometheus, and what to check.
func (c *Client) explain(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s from %s: %w", what, strings.TrimPrefix(c.base, "http://"), err)
	}
	return fmt.Errorf("%s from %s: %w (is Prometheus running and the tunnel open?)", what, strings.TrimPrefix(c.base, "http://"), err)
}

// splitMatchers does what the sidecar does with matchers on external labels: a matcher the
// external label's value fails rules the whole Prometheus out, one it passes is dropped, since
// the stored series do not carry the label. The rest go to Prometheus.
func splitMatchers(ms []*labels.Matcher, ext labels.Labels) (bool, []*labels.Matcher) {
	if ext.IsEmpty() {
		return true, ms
	}
	var out []*labels.Matcher
	for _, m := range ms {
		v := ext.Get(m.Name)
		if v == "" {
			out = append(out, m)
			continue
		}
		if !m.Matches(v) {
			return false, nil
		}
	}
	return true, out
}
