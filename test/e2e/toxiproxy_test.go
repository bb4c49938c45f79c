package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// proc is a helper process of a test; its early exit ends a wait with its log's tail.
type proc struct{ *supervise.Child }

func (p proc) ExitErr() error {
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.Name, p.Err(), p.Log, supervise.Tail(p.Log, 15))
}

// startProc runs bin from bin/ under a temp dir of the test, tied to the test binary's life, and
// stops it when the test ends.
func startProc(t *testing.T, name, bin string, args ...string) proc {
	t.Helper()
	path := filepath.Join(bed.DefaultBinDir(), bin)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v (make tools builds it)", path, err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := supervise.Start(dir, name, nil, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}, path, args...)
	if err != nil {
		t.Fatal(err)
	}
	p := proc{c}
	t.Cleanup(func() {
		syscall.Kill(c.PID, syscall.SIGTERM)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			syscall.Kill(c.PID, syscall.SIGKILL)
			<-c.Done()
		}
	})
	return p
}

// waitUntil polls ready until it holds, p exits, or a minute passes.
func waitUntil(t *testing.T, what string, p proc, ready func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := supervise.Poll(ctx, what, []proc{p}, 50*time.Millisecond, true, ready); err != nil {
		t.Fatal(err)
	}
}

var localHTTP = &http.Client{Timeout: 10 * time.Second}

// toxiproxy is a real toxiproxy-server, driven through its HTTP API.
type toxiproxy struct{ api string }

func startToxiproxy(t *testing.T) *toxiproxy {
	t.Helper()
	ports, err := supervise.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ports[0])
	p := startProc(t, "toxiproxy", "toxiproxy-server", "-host", "127.0.0.1", "-port", port)
	tp := &toxiproxy{api: "http://127.0.0.1:" + port}
	waitUntil(t, "toxiproxy's API", p, func(ctx context.Context) (bool, error) {
		return tp.call(ctx, http.MethodGet, "/version", nil, nil) == nil, nil
	})
	return tp
}

func (tp *toxiproxy) call(ctx context.Context, method, path string, body, into any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, tp.api+path, r)
	if err != nil {
		return err
	}
	resp, err := localHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("toxiproxy %s %s: %s: %s", method, path, resp.Status, b)
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// toxicProxy is one proxy of the server: a loopback listener in front of upstream.
type toxicProxy struct {
	tp   *toxiproxy
	name string
	addr string // where it listens, 127.0.0.1:port
}

// proxy creates a proxy on a free port in front of upstream and deletes it when the test ends.
func (tp *toxiproxy) proxy(t *testing.T, name, upstream string) *toxicProxy {
	t.Helper()
	var created struct {
		Listen string `json:"listen"`
	}
	err := tp.call(context.Background(), http.MethodPost, "/proxies",
		map[string]any{"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true}, &created)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.call(context.Background(), http.MethodDelete, "/proxies/"+name, nil, nil) })
	return &toxicProxy{tp: tp, name: name, addr: created.Listen}
}

// toxic is one of toxiproxy's toxics, on what the upstream sends back unless stream says
// otherwise.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream,omitempty"`
	Attributes map[string]int `json:"attributes"`
}

// add puts the toxic on the proxy, on its open connections too.
func (p *toxicProxy) add(x toxic) error {
	return p.tp.call(context.Background(), http.MethodPost, "/proxies/"+p.name+"/toxics", x, nil)
}

func (p *toxicProxy) remove(name string) error {
	return p.tp.call(context.Background(), http.MethodDelete, "/proxies/"+p.name+"/toxics/"+name, nil, nil)
}

// startQuerierOver runs a Thanos Querier of the test's own over endpoints, with the replica labels
// of the bed's Querier, and returns its HTTP base once it has every endpoint's Info.
func startQuerierOver(t *testing.T, name string, endpoints []string) string {
	t.Helper()
	ports, err := supervise.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"query",
		"--http-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--grpc-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--query.replica-label", "replica",
		"--query.replica-label", "prometheus_replica",
	}
	for _, e := range endpoints {
		args = append(args, "--endpoint", e)
	}
	p := startProc(t, name, "thanos", args...)
	base := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	waitUntil(t, name+" to see its stores", p, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stores", nil)
		resp, err := localHTTP.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var body struct {
			Data map[string][]struct {
				Name      string            `json:"name"`
				LastError *string           `json:"lastError"`
				LabelSets []json.RawMessage `json:"labelSets"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return false, err
		}
		ready := 0
		for _, ss := range body.Data {
			for _, s := range ss {
				if s.LastError == nil && len(s.LabelSets) > 0 {
					ready++
				}
			}
		}
		if ready < len(endpoints) {
			return false, fmt.Errorf("%d of %d stores ready", ready, len(endpoints))
		}
		return true, nil
	})
	return base
}

// kubeconfigVia is the bed's kubeconfig with the API server reached at addr instead: a TCP proxy
// passes TLS through, and the server's certificate holds 127.0.0.1.
func kubeconfigVia(t *testing.T, addr string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = addr
		c.Server = u.String()
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostPort is the host:port of a URL such as the bed's API server.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
