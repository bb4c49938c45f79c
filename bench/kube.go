package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	testbed "github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// bedState is the part of the bed's state.json the benchmarks use: the bed runs as its own
// process (hack/bed), so that it outlives a benchmark run that fails halfway and can be taken
// down by PID, and hands its state over in that file.
type bedState struct {
	Dir, Kubeconfig, APIServer string
	Stores                     []struct {
		Namespace, Pod, Cluster, Replica string
		SidecarGRPC, PrometheusURL       string
	}
	HistoryStart, HistoryEnd int64
	Procs                    []struct {
		Name string
		PID  int
	}
}

// pidsNamed returns the PIDs of the bed's processes with that name.
func (s *bedState) pidsNamed(name string) []int {
	var out []int
	for _, p := range s.Procs {
		if p.Name == name {
			out = append(out, p.PID)
		}
	}
	return out
}

// bed runs `hack/bed` (built once into the bench dir) to start and stop the stand-in cluster.
type bed struct {
	bin, dir string
	st       *bedState
}

func startBed(ctx context.Context, benchDir string, logf func(string, ...any)) (*bed, error) {
	b := &bed{bin: filepath.Join(benchDir, "bin", "bed"), dir: filepath.Join(benchDir, "bed")}
	build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./hack/bed")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build hack/bed: %w\n%s", err, out)
	}
	// A bed left by an interrupted run would be reused by `up` with an old history: start afresh.
	_ = b.down()
	t0 := time.Now()
	up := exec.CommandContext(ctx, b.bin, "up", "-dir", b.dir, "-quiet")
	if out, err := up.CombinedOutput(); err != nil {
		_ = b.down()
		return nil, fmt.Errorf("bed up: %w\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "state.json"))
	if err != nil {
		_ = b.down()
		return nil, err
	}
	b.st = &bedState{}
	if err := json.Unmarshal(raw, b.st); err != nil {
		_ = b.down()
		return nil, err
	}
	logf("bed up in %.0fs: %d Prometheus pods, API server %s", time.Since(t0).Seconds(), len(b.st.Stores), b.st.APIServer)
	return b, nil
}

func (b *bed) down() error {
	if _, err := os.Stat(filepath.Join(b.dir, "state.json")); err != nil {
		if _, err := os.Stat(filepath.Join(b.dir, "pids")); err != nil {
			return nil
		}
	}
	out, err := exec.Command(b.bin, "down", "-dir", b.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("bed down: %w: %s", err, out)
	}
	return nil
}

func (b *bed) sidecars() []string {
	var out []string
	for _, s := range b.st.Stores {
		out = append(out, s.SidecarGRPC)
	}
	return out
}

// The benchmark's own pods live on a node of a second kwok, next to the bed's, so that the bed
// stays as it is: its kwok serves only the ports it was configured with at start-up.
const (
	benchNode       = "bench-node-0"
	benchAnnotation = "globalquery.bench/kwok"
	coldService     = "bench-prometheus"
	soloService     = "bench-solo"
	tputNamespace   = "bench-throughput"
	tputPod         = "bytes"
	tputPort        = 9999
)

// benchPod is one fake pod and where kwok forwards its ports to.
type benchPod struct {
	Namespace, Name, Service string
	Forwards                 map[int]string // pod port -> 127.0.0.1:port
}

func kwokConfigYAML(pods []benchPod) string {
	// The bench's pods have no init containers and are never deleted while kwok runs, so of the
	// bed's stages only those that make a node Ready and a new pod Running and Ready act on them.
	docs := testbed.KwokStages()
	for _, p := range pods {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  forwards:\n", p.Name, p.Namespace)
		ports := make([]int, 0, len(p.Forwards))
		for port := range p.Forwards {
			ports = append(ports, port)
		}
		sort.Ints(ports)
		for _, port := range ports {
			host, tp, _ := strings.Cut(p.Forwards[port], ":")
			fmt.Fprintf(&b, "  - ports: [%d]\n    target:\n      address: %s\n      port: %s\n", port, host, tp)
		}
		docs = append(docs, b.String())
	}
	return strings.Join(docs, "---\n")
}

// benchCluster is the bed's cluster with the benchmark's pods added.
type benchCluster struct {
	kubeconfig string
	rest       *rest.Config
	cs         *kubernetes.Clientset
	kwok       *proc
	coldPods   []benchPod // behind coldService, spread over namespaces two by two
	soloPod    benchPod   // alone behind soloService
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

// addBenchPods starts a second kwok for a node of its own and creates, on it, nCold pods behind
// coldService (two per namespace, as HA pairs are), one pod behind soloService, and the pod whose
// port tputPort serves the byte source at bytesAddr. Store pods forward to sidecars in turn.
func addBenchPods(ctx context.Context, ps *procs, bins string, b *bed, nCold int, bytesAddr string) (*benchCluster, error) {
	cfg, err := restConfig(b.st.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &benchCluster{kubeconfig: b.st.Kubeconfig, rest: cfg, cs: cs}
	sidecars := b.sidecars()
	for i := range nCold {
		c.coldPods = append(c.coldPods, benchPod{
			Namespace: fmt.Sprintf("bench-%02d", i/2), Name: fmt.Sprintf("prometheus-bench-%d", i%2), Service: coldService,
			Forwards: map[int]string{10901: sidecars[i%len(sidecars)]},
		})
	}
	c.soloPod = benchPod{Namespace: "bench-solo", Name: "prometheus-solo-0", Service: soloService,
		Forwards: map[int]string{10901: sidecars[0]}}
	tput := benchPod{Namespace: tputNamespace, Name: tputPod, Forwards: map[int]string{tputPort: bytesAddr}}
	all := append(append(append([]benchPod(nil), c.coldPods...), c.soloPod), tput)

	kdir := filepath.Join(ps.dir, "kwok")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(kdir, "kwok.yaml")
	if err := os.WriteFile(cfgPath, []byte(kwokConfigYAML(all)), 0o644); err != nil {
		return nil, err
	}
	ports, err := supervise.FreePorts(1)
	if err != nil {
		return nil, err
	}
	c.kwok, err = ps.start("kwok-bench", nil, filepath.Join(bins, "kwok"),
		"--kubeconfig", b.st.Kubeconfig,
		"--config", cfgPath,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector", benchAnnotation+"=fake",
		"--node-ip", "127.0.0.1",
		"--node-port", strconv.Itoa(ports[0]),
		"--server-address", "127.0.0.1:"+strconv.Itoa(ports[0]),
	)
	if err != nil {
		return nil, err
	}
	watch := []*proc{c.kwok}
	create := func(what string, fn func(context.Context) error) error {
		return poll(ctx, "create "+what, watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			err := fn(ctx)
			if apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			return err == nil, err
		})
	}
	co := metav1.CreateOptions{}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        benchNode,
		Annotations: map[string]string{benchAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
		Labels:      map[string]string{"kubernetes.io/hostname": benchNode, "kubernetes.io/os": "linux", "type": "kwok"},
	}}
	if err := create("node "+benchNode, func(ctx context.Context) error {
		_, err := cs.CoreV1().Nodes().Create(ctx, node, co)
		return err
	}); err != nil {
		return nil, err
	}
	namespaces := map[string]bool{}
	services := map[string]string{} // namespace -> service
	for _, p := range all {
		if !namespaces[p.Namespace] {
			namespaces[p.Namespace] = true
			if err := create("namespace "+p.Namespace, func(ctx context.Context) error {
				_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.Namespace}}, co)
				return err
			}); err != nil {
				return nil, err
			}
		}
		if p.Service != "" && services[p.Namespace] == "" {
			services[p.Namespace] = p.Service
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: p.Service, Namespace: p.Namespace},
				Spec: corev1.ServiceSpec{
					ClusterIP: corev1.ClusterIPNone,
					Selector:  map[string]string{"app.kubernetes.io/name": p.Service},
					Ports: []corev1.ServicePort{
						{Name: "grpc", Port: 10901, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("grpc")},
					},
				},
			}
			if err := create("service "+p.Namespace+"/"+p.Service, func(ctx context.Context) error {
				_, err := cs.CoreV1().Services(p.Namespace).Create(ctx, svc, co)
				return err
			}); err != nil {
				return nil, err
			}
		}
		var cports []corev1.ContainerPort
		for port := range p.Forwards {
			name := "grpc"
			if port != 10901 {
				name = "bytes"
			}
			cports = append(cports, corev1.ContainerPort{Name: name, ContainerPort: int32(port), Protocol: corev1.ProtocolTCP})
		}
		labels := map[string]string{}
		if p.Service != "" {
			labels["app.kubernetes.io/name"] = p.Service
		}
		no := false
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: labels},
			Spec: corev1.PodSpec{
				NodeName:                     benchNode,
				AutomountServiceAccountToken: &no,
				Containers:                   []corev1.Container{{Name: "main", Image: "bench", Ports: cports}},
			},
		}
		// The namespace's default service account, which admission wants, comes a moment after
		// the namespace: create retries until then.
		if err := create("pod "+p.Namespace+"/"+p.Name, func(ctx context.Context) error {
			_, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, pod, co)
			return err
		}); err != nil {
			return nil, err
		}
	}

	want := map[string]int{}
	for _, p := range all {
		if p.Service != "" {
			want[p.Namespace]++
		}
	}
	var last string
	err = poll(ctx, "bench pods in their EndpointSlices", watch, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		for ns, n := range want {
			list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
				LabelSelector: discoveryv1.LabelServiceName + "=" + services[ns]})
			if err != nil {
				return false, err
			}
			ready := 0
			for _, sl := range list.Items {
				for _, ep := range sl.Endpoints {
					if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready++
					}
				}
			}
			if ready != n {
				last = fmt.Sprintf("%s: %d of %d ready", ns, ready, n)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, last)
	}
	err = poll(ctx, "throughput pod running", watch, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(tputNamespace).Get(ctx, tputPod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
	return c, err
}
