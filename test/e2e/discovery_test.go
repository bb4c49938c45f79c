package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/globalquery/kubectl-globalquery/pkg/discovery"
)

func storeNames(t *testing.T, args ...string) []string {
	t.Helper()
	out, stderr, err := runCLI(t, append([]string{"stores"}, args...)...)
	if err != nil {
		t.Fatalf("stores %v: %v\n%s", args, err, stderr)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	return names
}

func TestDiscoveryScopes(t *testing.T) {
	kc := "--kubeconfig=" + theBed.Kubeconfig
	if n := storeNames(t, kc); len(n) != 3 {
		t.Fatalf("all namespaces: %v", n)
	}
	if n := storeNames(t, kc, "-n", "europe"); len(n) != 2 || !strings.HasPrefix(n[0], "europe/") {
		t.Fatalf("-n europe: %v", n)
	}
	if n := storeNames(t, kc, "-l", "operated-prometheus=true"); len(n) != 3 {
		t.Fatalf("-l operated-prometheus=true: %v", n)
	}
	_, _, err := runCLI(t, "up", kc, "--service", "no-such-service")
	var nf *discovery.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "--endpoint") || !strings.Contains(err.Error(), `"no-such-service"`) {
		t.Fatalf("missing service: %v", err)
	}
}

// Separate kube contexts are the real-world regions. Two contexts onto the bed see every store
// twice; the answer must not change, and each store is named with its context.
func TestSeveralContexts(t *testing.T) {
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	cfg.Contexts = map[string]*clientcmdapi.Context{"eu": cur.DeepCopy(), "us": cur.DeepCopy()}
	cfg.CurrentContext = "eu"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	kc := "--kubeconfig=" + path
	names := storeNames(t, kc, "--all-contexts")
	if len(names) != 6 || !strings.HasPrefix(names[0], "eu/") || !strings.HasPrefix(names[5], "us/") {
		t.Fatalf("--all-contexts stores: %v", names)
	}
	if n := storeNames(t, kc, "--context", "us", "--context", "eu"); len(n) != 6 {
		t.Fatalf("--context twice: %v", n)
	}
	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	for _, dedup := range []string{"--dedup=true", "--dedup=false"} {
		one, _, err := runCLI(t, `sum by (cluster) (rate(http_requests_total[5m]))`, kc, at, dedup, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		both, _, err := runCLI(t, `sum by (cluster) (rate(http_requests_total[5m]))`, kc, at, dedup, "-o", "json", "--all-contexts")
		if err != nil {
			t.Fatal(err)
		}
		if one != both {
			t.Fatalf("%s: one context %s\nall contexts %s", dedup, one, both)
		}
	}
}

// A user who may read only the europe namespace still gets europe, with a warning naming what
// was forbidden where.
func TestRestrictedUserGetsWhatRBACAllows(t *testing.T) {
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	path := restrictedKubeconfig(t, ctx, admin, "viewer", true)
	out, stderr, err := runCLI(t, "stores", "--kubeconfig="+path)
	if err != nil {
		t.Fatalf("restricted user: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "europe/prometheus-prometheus-europe-eu-prometheus-0") || strings.Contains(out, "united-states/") {
		t.Fatalf("stores of a europe-only user:\n%s", out)
	}
	if !strings.Contains(stderr, "forbidden: you may not list services in namespace united-states") {
		t.Fatalf("no warning naming the forbidden namespace:\n%s", stderr)
	}

	// The same user without pods/portforward: the error names the verb, resource and namespace.
	path = restrictedKubeconfig(t, ctx, admin, "noforward", false)
	_, _, err = runCLI(t, "up", "--kubeconfig="+path, "-n", "europe")
	if err == nil || !strings.Contains(err.Error(), "forbidden: you may not create pods/portforward in namespace europe") {
		t.Fatalf("without portforward: %v", err)
	}
}

// restrictedKubeconfig makes a service account that may list namespaces everywhere and, in
// europe only, read services and EndpointSlices (and port-forward, if forward is set).
func restrictedKubeconfig(t *testing.T, ctx context.Context, admin kubernetes.Interface, name string, forward bool) string {
	t.Helper()
	ns := "default"
	must := func(err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	_, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "list-namespaces"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{})
	must(err)
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-list-namespaces"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "list-namespaces"},
		Subjects:   subject,
	}, metav1.CreateOptions{})
	must(err)
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list"}},
	}
	if forward {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/portforward"}, Verbs: []string{"get", "create"}})
	}
	_, err = admin.RbacV1().Roles("europe").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().RoleBindings("europe").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   subject,
	}, metav1.CreateOptions{})
	must(err)
	tok, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{name: {Token: tok.Status.Token}}
	cfg.Contexts = map[string]*clientcmdapi.Context{name: {Cluster: cur.Cluster, AuthInfo: name}}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	return path
}

func ptr[T any](v T) *T { return &v }

// The replica label comes from the Prometheus objects where they are readable; the flag wins.
func TestReplicaLabelsFromPrometheusObjects(t *testing.T) {
	kc := "--kubeconfig=" + theBed.Kubeconfig
	_, stderr, err := runCLI(t, "stores", kc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "Replica labels (Prometheus objects): replica\n") {
		t.Fatalf("stores stderr: %q", stderr)
	}
	_, stderr, err = runCLI(t, "stores", kc, "--replica-label=prometheus_replica")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "Replica labels (flag): prometheus_replica\n") {
		t.Fatalf("stores stderr with the flag: %q", stderr)
	}
	// With only the flag's label, which the bed does not set, nothing is deduplicated.
	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	fromObjects, _, err := runCLI(t, `count(up{job="api"})`, kc, at, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	fromFlag, _, err := runCLI(t, `count(up{job="api"})`, kc, at, "-o", "json", "--replica-label=prometheus_replica")
	if err != nil {
		t.Fatal(err)
	}
	if fromObjects == fromFlag {
		t.Fatalf("the replica label made no difference: %s", fromObjects)
	}
}
