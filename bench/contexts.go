package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/globalquery/kubectl-globalquery/internal/supervise"
	"github.com/globalquery/kubectl-globalquery/pkg/connect"
	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

const (
	benchContexts  = 4
	contextLatency = 50 // ms each way, as a region away
)

// caseContexts measures discovery over several contexts, each a far region: the bed's API server
// behind a toxiproxy of its own that delays every byte. Contexts are discovered at once, so four
// should take about as long as one; one after another they would take four times as long.
func caseContexts(ctx context.Context, c config, ps *procs, b *bed, t *table, logf func(string, ...any)) error {
	ports, err := supervise.FreePorts(1 + benchContexts)
	if err != nil {
		return err
	}
	api := "127.0.0.1:" + strconv.Itoa(ports[0])
	p, err := ps.start("toxiproxy", nil, filepath.Join(c.bins, "toxiproxy-server"), "-host", "127.0.0.1", "-port", strconv.Itoa(ports[0]))
	if err != nil {
		return err
	}
	defer ps.stop(p, time.Second)
	if err := poll(ctx, "toxiproxy", []*proc{p}, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		return toxiproxyCall(ctx, api, http.MethodGet, "/version", nil) == nil, nil
	}); err != nil {
		return err
	}
	upstream := strings.TrimPrefix(b.st.APIServer, "https://")
	// The proxies listen on 127.0.0.1, an address the API server's certificate names.
	var servers []string
	for i := range benchContexts {
		name := fmt.Sprintf("region-%d", i)
		listen := "127.0.0.1:" + strconv.Itoa(ports[1+i])
		if err := toxiproxyCall(ctx, api, http.MethodPost, "/proxies", map[string]any{"name": name, "listen": listen, "upstream": upstream, "enabled": true}); err != nil {
			return err
		}
		for _, stream := range []string{"downstream", "upstream"} {
			if err := toxiproxyCall(ctx, api, http.MethodPost, "/proxies/"+name+"/toxics", map[string]any{
				"name": "latency-" + stream, "type": "latency", "stream": stream, "attributes": map[string]int{"latency": contextLatency},
			}); err != nil {
				return err
			}
		}
		servers = append(servers, "https://"+listen)
	}
	kubeconfig, names, err := regionsKubeconfig(b, c.dir, servers)
	if err != nil {
		return err
	}
	reps := c.engineReps
	logf("contexts: discovery over 1 and %d contexts, each %d ms away each way, %d runs each", benchContexts, contextLatency, reps)
	var one, all, oneOpen, allOpen []time.Duration
	for r := range reps {
		// Alternate which goes first, so that neither gains from the other's warm caches.
		for k := range 2 {
			asked := names[:1]
			if (r+k)%2 == 1 {
				asked = names
			}
			disc, total, err := openTimed(ctx, kubeconfig, asked)
			if err != nil {
				return fmt.Errorf("contexts %v: %w", asked, err)
			}
			if len(asked) == 1 {
				one, oneOpen = append(one, disc), append(oneOpen, total)
			} else {
				all, allOpen = append(all, disc), append(allOpen, total)
			}
		}
	}
	ratio := float64(median(all)) / float64(median(one))
	t.add(row{name: fmt.Sprintf("discovery: %d contexts vs 1, %d ms away", benchContexts, contextLatency),
		ours: fmtDur(median(all)), ref: fmtDur(median(one)), ratio: fmt.Sprintf("%.2f", ratio), goal: goal(ratio, 1.5, true),
		note: fmt.Sprintf("one after another would be ≈%d×; with tunnels and Info: %s vs %s; %d runs each", benchContexts,
			fmtDur(median(allOpen)), fmtDur(median(oneOpen)), reps)})
	return nil
}

// discoveredAt notes when discovery ended.
type discoveredAt struct{ at time.Time }

func (d *discoveredAt) Discovered(int, int)    { d.at = time.Now() }
func (d *discoveredAt) Connected(*connect.Set) {}

// openTimed opens the stores of the contexts asked as the command does and returns how long
// discovery took and the whole opening.
func openTimed(ctx context.Context, kubeconfig string, asked []string) (disc, total time.Duration, err error) {
	kube := genericclioptions.NewConfigFlags(false)
	kube.Context = nil
	kube.KubeConfig = &kubeconfig
	mark := &discoveredAt{}
	cfg := stores.Config{Kube: kube, Contexts: asked, Service: discovery.DefaultService, PortName: discovery.DefaultPortName, Port: discovery.DefaultPort, Progress: mark}
	start := time.Now()
	set, _, err := stores.Open(ctx, cfg)
	total = time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	set.Close()
	return mark.at.Sub(start), total, nil
}

// regionsKubeconfig writes a kubeconfig of one context per server, each the bed's cluster and user.
func regionsKubeconfig(b *bed, dir string, servers []string) (string, []string, error) {
	src, err := clientcmd.LoadFromFile(b.st.Kubeconfig)
	if err != nil {
		return "", nil, err
	}
	cur := src.Contexts[src.CurrentContext]
	out := clientcmdapi.NewConfig()
	out.AuthInfos = src.AuthInfos
	var names []string
	for i, s := range servers {
		name := fmt.Sprintf("region-%d", i)
		cl := src.Clusters[cur.Cluster].DeepCopy()
		cl.Server = s
		out.Clusters[name] = cl
		kc := cur.DeepCopy()
		kc.Cluster = name
		out.Contexts[name] = kc
		names = append(names, name)
	}
	out.CurrentContext = names[0]
	path := filepath.Join(dir, "regions.kubeconfig")
	return path, names, clientcmd.WriteToFile(*out, path)
}

func toxiproxyCall(ctx context.Context, api, method, path string, body any) error {
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+api+path, &buf)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("toxiproxy %s %s: %s", method, path, resp.Status)
	}
	return nil
}
