package bed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/globalquery/kubectl-globalquery/internal/pki"
)

const kwokNodeAnnotation = "kwok.x-k8s.io/node"

func kubeconfigYAML(server string, ca []byte, user string, kp pki.Pair) string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bed
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: bed
  context:
    cluster: bed
    user: %s
current-context: bed
`, server, b64(ca), user, b64(kp.Cert), b64(kp.Key), user)
}

// kube brings up etcd, kube-apiserver, kube-controller-manager and kwok, then
// creates the objects kube-prometheus-stack and prometheus-operator would,
// and waits until the Prometheus pods are Ready and in their EndpointSlices.
func (r *run) kube(ctx context.Context) error {
	p, err := pki.New(filepath.Join(r.dir, "pki"))
	if err != nil {
		return err
	}
	if err := p.SigningKey("sa"); err != nil {
		return err
	}
	if _, err := p.Issue("apiserver", "kube-apiserver", nil,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}); err != nil {
		return err
	}
	admin, err := p.Issue("admin", "kubernetes-admin", []string{"system:masters"}, nil, nil)
	if err != nil {
		return err
	}
	// The controller manager and kwok get identities of their own, so audit
	// and log lines tell them apart; both need broad rights, which
	// system:masters gives without any RBAC setup.
	kcmCert, err := p.Issue("kube-controller-manager", "system:kube-controller-manager", []string{"system:masters"}, nil, nil)
	if err != nil {
		return err
	}
	kwokCert, err := p.Issue("kwok", "kwok-controller", []string{"system:masters"}, nil, nil)
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(r.apiPort)
	kubeDir := filepath.Join(r.dir, "kube")
	files := map[string]string{
		filepath.Join(r.dir, "kubeconfig"):                      kubeconfigYAML(server, p.Cert, "admin", admin),
		filepath.Join(kubeDir, "controller-manager.kubeconfig"): kubeconfigYAML(server, p.Cert, "kube-controller-manager", kcmCert),
		filepath.Join(kubeDir, "kwok.kubeconfig"):               kubeconfigYAML(server, p.Cert, "kwok", kwokCert),
		filepath.Join(kubeDir, "kwok.yaml"):                     kwokConfig(r.forwards()),
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(r.etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(r.etcdPeer)
	etcd, err := r.ps.start("etcd", r.bin("etcd"),
		"--name", "bed",
		"--data-dir", filepath.Join(r.dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "bed="+peerURL, "--initial-cluster-state", "new",
		// A throwaway store: durability only costs start-up time here.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	)
	if err != nil {
		return err
	}
	r.log.printf("etcd started (pid %d)", etcd.PID)
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := r.poll(ctx, "etcd health", []*child{etcd}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		body, err := get(ctx, plain, etcdURL+"/health")
		return err == nil && strings.Contains(body, `"true"`), err
	}); err != nil {
		return err
	}
	r.log.printf("etcd ready")

	args := []string{
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(r.apiPort),
		"--tls-cert-file", p.Path("apiserver", "crt"),
		"--tls-private-key-file", p.Path("apiserver", "key"),
		"--client-ca-file", p.Path("ca", "crt"),
		"--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", filepath.Join(r.dir, "pki", "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(r.dir, "pki", "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16",
		// The default reconciler would publish 127.0.0.1 as the endpoint of
		// the kubernetes service, and Endpoints validation rejects loopback
		// addresses.
		"--endpoint-reconciler-type", "none",
		// kwok's nodes are named, not resolvable; their InternalIP is
		// 127.0.0.1, where kwok's kubelet server listens.
		"--kubelet-preferred-address-types", "InternalIP",
		"--allow-privileged",
		"--profiling=false",
	}
	args = append(args, r.cfg.APIServerArgs...)
	apiserver, err := r.ps.start("kube-apiserver", r.bin("kube-apiserver"), args...)
	if err != nil {
		return err
	}
	r.log.printf("kube-apiserver started (pid %d)", apiserver.PID)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.Cert)
	cert, err := tls.X509KeyPair(admin.Cert, admin.Key)
	if err != nil {
		return err
	}
	secure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}
	if err := r.poll(ctx, "kube-apiserver /readyz", []*child{etcd, apiserver}, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		body, err := get(ctx, secure, server+"/readyz")
		return err == nil && strings.TrimSpace(body) == "ok", err
	}); err != nil {
		return err
	}
	r.log.printf("kube-apiserver ready")

	kcm, err := r.ps.start("kube-controller-manager", r.bin("kube-controller-manager"),
		"--kubeconfig", filepath.Join(kubeDir, "controller-manager.kubeconfig"),
		"--bind-address", "127.0.0.1",
		"--secure-port", "0",
		"--leader-elect=false",
		"--cluster-name", "bed",
		"--service-account-private-key-file", filepath.Join(r.dir, "pki", "sa.key"),
		"--root-ca-file", p.Path("ca", "crt"),
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	r.log.printf("kube-controller-manager started (pid %d)", kcm.PID)
	kwok, err := r.ps.start("kwok", r.bin("kwok"),
		"--kubeconfig", filepath.Join(kubeDir, "kwok.kubeconfig"),
		"--config", filepath.Join(kubeDir, "kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector", kwokNodeAnnotation+"=fake",
		"--node-ip", "127.0.0.1",
		"--node-port", strconv.Itoa(r.kwokPort),
		"--server-address", "127.0.0.1:"+strconv.Itoa(r.kwokPort),
	)
	if err != nil {
		return err
	}
	r.log.printf("kwok started (pid %d)", kwok.PID)
	watch := []*child{etcd, apiserver, kcm, kwok}

	rc := &rest.Config{
		Host:            server,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.Cert, CertData: admin.Cert, KeyData: admin.Key},
		QPS:             200, Burst: 400,
		Timeout: 10 * time.Second,
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	if err := r.createObjects(ctx, cs, dyn, watch); err != nil {
		return err
	}
	r.log.printf("kube objects created")
	if err := r.waitPods(ctx, cs, watch); err != nil {
		return err
	}
	r.log.printf("prometheus-operated EndpointSlices list every pod")
	if err := r.waitThanos(ctx, cs, watch); err != nil {
		return err
	}
	r.log.printf("Thanos Store Gateway and Querier services list every pod")
	return nil
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, b)
	}
	return string(b), nil
}

func (r *run) forwards() []kwokForward {
	var out []kwokForward
	for _, m := range r.members {
		out = append(out, kwokForward{Namespace: m.spec.Namespace, Pod: m.pod, Ports: map[int]string{
			9090:  "127.0.0.1:" + strconv.Itoa(m.web),
			10901: "127.0.0.1:" + strconv.Itoa(m.grpc),
			10902: "127.0.0.1:" + strconv.Itoa(m.http),
		}})
	}
	return append(out, r.thanosForwards()...)
}

// Labels prometheus-operator puts on a Prometheus's pods.
func operatorPodLabels(name, version string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "prometheus",
		"app.kubernetes.io/instance":   name,
		"app.kubernetes.io/managed-by": "prometheus-operator",
		"app.kubernetes.io/version":    strings.TrimPrefix(version, "v"),
		"prometheus":                   name,
		"operator.prometheus.io/name":  name,
		"operator.prometheus.io/shard": "0",
	}
}

func helmLabels(s *promSpec) map[string]string {
	return map[string]string{
		"app":                          "kube-prometheus-stack-prometheus",
		"release":                      s.Release,
		"heritage":                     "Helm",
		"app.kubernetes.io/instance":   s.Release,
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/part-of":    "kube-prometheus-stack",
	}
}

func (r *run) images() (prom, thanos, reloader string) {
	pv := r.toolVersion("prometheus", "v0.316.0")
	// Prometheus's Go module v0.3XY.Z is release v3.XY.Z.
	if rest, ok := strings.CutPrefix(pv, "v0."); ok {
		if parts := strings.Split(rest, "."); len(parts) == 2 {
			if n, err := strconv.Atoi(parts[0]); err == nil && n >= 100 {
				pv = fmt.Sprintf("v%d.%d.%s", n/100, n%100, parts[1])
			}
		}
	}
	return "quay.io/prometheus/prometheus:" + pv,
		"quay.io/thanos/thanos:" + r.toolVersion("thanos", "v0.42.4"),
		"quay.io/prometheus-operator/prometheus-config-reloader:v0.86.0"
}

func (r *run) createObjects(ctx context.Context, cs *kubernetes.Clientset, dyn dynamic.Interface, watch []*child) error {
	create := func(what string, fn func(context.Context) error) error {
		return r.poll(ctx, "create "+what, watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			err := fn(ctx)
			if apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			return err == nil, err
		})
	}
	opts := metav1.CreateOptions{}

	if err := create("CRD prometheuses.monitoring.coreos.com", func(ctx context.Context) error {
		_, err := dyn.Resource(crdGVR).Create(ctx, prometheusCRD(), opts)
		return err
	}); err != nil {
		return err
	}
	for _, ns := range []string{"monitoring", "europe", "united-states"} {
		if err := create("namespace "+ns, func(ctx context.Context) error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, opts)
			return err
		}); err != nil {
			return err
		}
	}
	for _, n := range nodeNames {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        n,
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": n,
				"kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "", "type": "kwok",
			},
		}}
		if err := create("node "+n, func(ctx context.Context) error {
			_, err := cs.CoreV1().Nodes().Create(ctx, node, opts)
			return err
		}); err != nil {
			return err
		}
	}

	promImg, thanosImg, reloaderImg := r.images()
	for i := range promSpecs {
		s := &promSpecs[i]
		name, ns := s.Name(), s.Namespace
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: helmLabels(s)}}
		if err := create("serviceaccount "+ns+"/"+name, func(ctx context.Context) error {
			_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, opts)
			return err
		}); err != nil {
			return err
		}
		operatedPorts := []corev1.ServicePort{
			{Name: "web", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
			{Name: "grpc", Port: 10901, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("grpc")},
		}
		if r.plain(ns) {
			// The operator adds the grpc port only for a Prometheus with a sidecar.
			operatedPorts = operatedPorts[:1]
		}
		operated := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-operated", Namespace: ns, Labels: map[string]string{
				"managed-by": "prometheus-operator", "operated-prometheus": "true",
			}},
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  map[string]string{"app.kubernetes.io/name": "prometheus"},
				Ports:     operatedPorts,
			},
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: mergeMaps(helmLabels(s), map[string]string{"self-monitor": "true"})},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": name},
				Ports: []corev1.ServicePort{
					{Name: "http-web", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)},
					{Name: "reloader-web", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("reloader-web")},
				},
			},
		}
		for _, sv := range []*corev1.Service{operated, svc} {
			if err := create("service "+ns+"/"+sv.Name, func(ctx context.Context) error {
				_, err := cs.CoreV1().Services(ns).Create(ctx, sv, opts)
				return err
			}); err != nil {
				return err
			}
		}
		sts := statefulSet(s, promImg, thanosImg, reloaderImg)
		if r.plain(ns) {
			withoutSidecar(sts)
		}
		if err := create("statefulset "+ns+"/"+sts.Name, func(ctx context.Context) error {
			_, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts, opts)
			return err
		}); err != nil {
			return err
		}
	}

	if err := r.createThanos(ctx, cs, create); err != nil {
		return err
	}

	// The CRD takes a moment to be served; the pods do not wait for it.
	if err := r.poll(ctx, "CRD established", watch, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(crdGVR).Get(ctx, "prometheuses.monitoring.coreos.com", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	for i := range promSpecs {
		s := &promSpecs[i]
		obj := prometheusObject(s, promImg, thanosImg)
		if r.plain(s.Namespace) {
			unstructured.RemoveNestedField(obj.Object, "spec", "thanos")
		}
		if err := create("prometheus "+s.Namespace+"/"+s.Name(), func(ctx context.Context) error {
			_, err := dyn.Resource(prometheusGVR).Namespace(s.Namespace).Create(ctx, obj, opts)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// statefulSet mirrors what prometheus-operator creates for a Prometheus with
// a Thanos sidecar, bound straight to a kwok node as there is no scheduler.
func statefulSet(s *promSpec, promImg, thanosImg, reloaderImg string) *appsv1.StatefulSet {
	name := s.Name()
	replicas := int32(s.Replicas)
	podLabels := operatorPodLabels(name, promImg[strings.LastIndex(promImg, ":")+1:])
	tcp := corev1.ProtocolTCP
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "prometheus-" + name, Namespace: s.Namespace,
			Labels: mergeMaps(helmLabels(s), map[string]string{
				"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": name,
				"app.kubernetes.io/managed-by": "prometheus-operator",
				"operator.prometheus.io/name":  name, "operator.prometheus.io/shard": "0",
			}),
			Annotations: map[string]string{"prometheus-operator-input-hash": "bed"},
		},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         "prometheus-operated",
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
				"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": name,
				"prometheus": name, "operator.prometheus.io/name": name, "operator.prometheus.io/shard": "0",
				"app.kubernetes.io/managed-by": "prometheus-operator",
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      podLabels,
					Annotations: map[string]string{"kubectl.kubernetes.io/default-container": "prometheus"},
				},
				Spec: corev1.PodSpec{
					NodeName:           s.Node,
					ServiceAccountName: name,
					InitContainers: []corev1.Container{{
						Name: "init-config-reloader", Image: reloaderImg,
						Args: []string{"--watch-interval=0", "--listen-address=:8081",
							"--config-file=/etc/prometheus/config/prometheus.yaml.gz",
							"--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml"},
						Ports: []corev1.ContainerPort{{Name: "reloader-init", ContainerPort: 8081, Protocol: tcp}},
					}},
					Containers: []corev1.Container{
						{
							Name: "prometheus", Image: promImg,
							Args: []string{
								"--config.file=/etc/prometheus/config_out/prometheus.env.yaml",
								"--web.enable-lifecycle",
								"--web.route-prefix=/",
								"--storage.tsdb.retention.time=10d",
								"--storage.tsdb.path=/prometheus",
								"--web.config.file=/etc/prometheus/web_config/web-config.yaml",
								"--storage.tsdb.max-block-duration=2h",
								"--storage.tsdb.min-block-duration=2h",
							},
							Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090, Protocol: tcp}},
							ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/-/ready", Port: intstr.FromString("web"), Scheme: corev1.URISchemeHTTP}}},
						},
						{
							Name: "config-reloader", Image: reloaderImg,
							Args: []string{"--listen-address=:8080", "--reload-url=http://127.0.0.1:9090/-/reload",
								"--config-file=/etc/prometheus/config/prometheus.yaml.gz",
								"--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml",
								"--watched-dir=/etc/prometheus/rules/prometheus-" + name + "-rulefiles-0"},
							Ports: []corev1.ContainerPort{{Name: "reloader-web", ContainerPort: 8080, Protocol: tcp}},
						},
						{
							Name: "thanos-sidecar", Image: thanosImg,
							Args: []string{"sidecar", "--prometheus.url=http://127.0.0.1:9090/",
								`--prometheus.http-client={"tls_config": {"insecure_skip_verify":true}}`,
								"--grpc-address=:10901", "--http-address=:10902", "--log.level=info", "--log.format=logfmt"},
							Ports: []corev1.ContainerPort{
								{Name: "http", ContainerPort: 10902, Protocol: tcp},
								{Name: "grpc", ContainerPort: 10901, Protocol: tcp},
							},
						},
					},
				},
			},
		},
	}
}

// withoutSidecar makes the StatefulSet the operator's for a Prometheus without `thanos` in its
// spec: no sidecar container, hence no grpc port.
func withoutSidecar(sts *appsv1.StatefulSet) {
	spec := &sts.Spec.Template.Spec
	spec.Containers = slices.DeleteFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "thanos-sidecar" })
}

var (
	crdGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	prometheusGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}
)

// prometheusCRD is a minimal structural stand-in for prometheus-operator's
// CRD: the same names and scope, with an open schema.
func prometheusCRD() *unstructured.Unstructured {
	open := map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "prometheuses.monitoring.coreos.com"},
		"spec": map[string]any{
			"group": "monitoring.coreos.com",
			"scope": "Namespaced",
			"names": map[string]any{
				"kind": "Prometheus", "listKind": "PrometheusList", "plural": "prometheuses",
				"singular": "prometheus", "shortNames": []any{"prom"}, "categories": []any{"prometheus-operator"},
			},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"apiVersion": map[string]any{"type": "string"},
						"kind":       map[string]any{"type": "string"},
						"metadata":   map[string]any{"type": "object"},
						"spec":       open,
						"status":     open,
					},
				}},
			}},
		},
	}}
}

func prometheusObject(s *promSpec, promImg, thanosImg string) *unstructured.Unstructured {
	labels := map[string]any{}
	for k, v := range helmLabels(s) {
		labels[k] = v
	}
	promVersion := promImg[strings.LastIndex(promImg, ":")+1:]
	thanosVersion := thanosImg[strings.LastIndex(thanosImg, ":")+1:]
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "Prometheus",
		"metadata":   map[string]any{"name": s.Name(), "namespace": s.Namespace, "labels": labels},
		"spec": map[string]any{
			"replicas":                    int64(s.Replicas),
			"shards":                      int64(1),
			"version":                     promVersion,
			"image":                       promImg,
			"serviceAccountName":          s.Name(),
			"externalUrl":                 fmt.Sprintf("http://%s.%s:9090", s.Name(), s.Namespace),
			"prometheusExternalLabelName": "cluster",
			"replicaExternalLabelName":    "replica",
			"scrapeInterval":              "30s",
			"evaluationInterval":          "30s",
			"retention":                   "10d",
			"portName":                    "web",
			"listenLocal":                 false,
			"enableAdminAPI":              false,
			"serviceMonitorSelector":      map[string]any{"matchLabels": map[string]any{"release": s.Release}},
			"podMonitorSelector":          map[string]any{"matchLabels": map[string]any{"release": s.Release}},
			"ruleSelector":                map[string]any{"matchLabels": map[string]any{"release": s.Release}},
			"thanos":                      map[string]any{"image": thanosImg, "version": thanosVersion},
		},
	}}
}

// waitPods waits until every Prometheus pod is Running and Ready and both
// prometheus-operated services list them as ready with the grpc port (the
// web port in PlainRegions).
func (r *run) waitPods(ctx context.Context, cs *kubernetes.Clientset, watch []*child) error {
	want := map[string]map[string]bool{} // namespace -> pods
	for _, m := range r.members {
		if want[m.spec.Namespace] == nil {
			want[m.spec.Namespace] = map[string]bool{}
		}
		want[m.spec.Namespace][m.pod] = true
	}
	var lastPods, lastSlices string
	err := r.poll(ctx, "Prometheus pods Ready", watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for ns, pods := range want {
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=prometheus"})
			if err != nil {
				return false, err
			}
			ready := 0
			var seen []string
			for _, p := range list.Items {
				seen = append(seen, p.Name+":"+string(p.Status.Phase))
				if pods[p.Name] && p.Status.Phase == corev1.PodRunning && podReady(&p) {
					ready++
				}
			}
			if ready != len(pods) {
				lastPods = fmt.Sprintf("%s: %v", ns, seen)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w; pods seen: %s", err, lastPods)
	}
	r.log.printf("prometheus pods Running and Ready")
	err = r.poll(ctx, "prometheus-operated EndpointSlices", watch, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for ns, pods := range want {
			list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
				LabelSelector: discoveryv1.LabelServiceName + "=prometheus-operated"})
			if err != nil {
				return false, err
			}
			ready := map[string]bool{}
			port, num := "grpc", int32(10901)
			if r.plain(ns) {
				port, num = "web", 9090
			}
			for _, sl := range list.Items {
				if !hasPort(sl.Ports, port, num) {
					continue
				}
				for _, ep := range sl.Endpoints {
					if ep.TargetRef != nil && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready[ep.TargetRef.Name] = true
					}
				}
			}
			for p := range pods {
				if !ready[p] {
					lastSlices = fmt.Sprintf("%s: ready %v", ns, ready)
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w; slices seen: %s", err, lastSlices)
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasPort(ports []discoveryv1.EndpointPort, name string, port int32) bool {
	for _, p := range ports {
		if p.Name != nil && *p.Name == name && p.Port != nil && *p.Port == port {
			return true
		}
	}
	return false
}
