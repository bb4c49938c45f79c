package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
)

func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	kc, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// waitFor polls cond every 100ms for up to 30s.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

// A Prometheus pod that is not ready (a failing readiness probe, a pod still starting) is a
// store missing from the answer: strict, the query fails naming it; with --partial-response the
// other stores answer, with a warning naming it. The pod is a real kwok pod behind a real
// prometheus-operated service; the kube-controller-manager takes it out of the ready endpoints
// when its Ready condition turns false, as a kubelet's failing probe would make it.
func TestNotReadyPodIsNamed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc := adminClient(t)
	const ns, pod = "staging", "prometheus-staging-0"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kc.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		// Other tests count the stores: wait until this one is gone from discovery.
		waitFor(t, "the staging service to go", func() (bool, error) {
			l, err := kc.CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{})
			return err == nil && len(l.Items) == 0, err
		})
	})
	labels := map[string]string{"app.kubernetes.io/name": "prometheus", "prometheus": "staging"}
	_, err := kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-operated", Labels: map[string]string{"operated-prometheus": "true"}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels, Ports: []corev1.ServicePort{
			{Name: "web", Port: 9090, TargetPort: intstr.FromString("web")},
			{Name: "grpc", Port: 10901, TargetPort: intstr.FromString("grpc")},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Labels: labels},
		Spec: corev1.PodSpec{NodeName: theBed.Stores[0].Node, Containers: []corev1.Container{
			{Name: "prometheus", Image: "quay.io/prometheus/prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
			{Name: "thanos-sidecar", Image: "quay.io/thanos/thanos", Ports: []corev1.ContainerPort{{Name: "grpc", ContainerPort: 10901}}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "kwok to run the pod", func() (bool, error) {
		p, err := kc.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	// What a kubelet reports when the readiness probe fails.
	p, err := kc.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
			p.Status.Conditions[i].Reason = "ContainersNotReady"
		}
	}
	for i := range p.Status.ContainerStatuses {
		p.Status.ContainerStatuses[i].Ready = false
	}
	if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the EndpointSlice to list the pod as not ready", func() (bool, error) {
		l, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=prometheus-operated"})
		if err != nil {
			return false, err
		}
		for _, es := range l.Items {
			for _, ep := range es.Endpoints {
				if ep.TargetRef != nil && ep.TargetRef.Name == pod && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("slices: %d", len(l.Items))
	})

	kcArg := "--kubeconfig=" + theBed.Kubeconfig
	const q = `count by (cluster) (up{job="api"})`
	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	_, _, err = runCLI(t, q, kcArg, at, "-o", "json")
	if err == nil {
		t.Fatal("strict: no error with a Prometheus pod not ready")
	}
	for _, w := range []string{ns + "/" + pod, "not ready", "--partial-response"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("strict error %q lacks %q", err, w)
		}
	}
	if got := cmd.ExitCode(err); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}

	out, stderr, err := runCLI(t, q, kcArg, at, "-o", "json", "--partial-response")
	if err != nil {
		t.Fatalf("partial: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, ns+"/"+pod) || !strings.Contains(stderr, "not ready") {
		t.Errorf("partial: no warning naming the pod: %q", stderr)
	}
	if !strings.Contains(out, ns+"/"+pod) {
		t.Errorf("partial: the JSON answer's warnings do not name the pod: %s", out)
	}
	want := oracle(t, "/api/v1/query", map[string][]string{"query": {q}, "time": {strings.TrimPrefix(at, "--time=")}})
	got := decode(t, []byte(out))
	if d := compareAnswers(got, want, false); d != "" {
		t.Errorf("partial answer differs from the Querier's over the ready stores: %s", d)
	}
}

// Auth exactly as kubectl: a kubeconfig whose user gets its token from an exec credential
// plugin (client.authentication.k8s.io/v1) works, and a plugin that fails is named.
func TestExecCredentialPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token := tokenOf(t, restrictedKubeconfig(t, ctx, adminClient(t), "viewer", true))
	dir := t.TempDir()
	good := filepath.Join(dir, "good-credential-plugin")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'\n", token)
	if err := os.WriteFile(good, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad-credential-plugin")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho 'error: SSO session expired, run: sso login' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	cfg := execKubeconfig(t, good)
	out, stderr, err := runCLI(t, `count(up{job="api"})`, "--kubeconfig="+cfg, "-n", "europe", at, "-o", "json")
	if err != nil {
		t.Fatalf("with the exec plugin: %v\n%s", err, stderr)
	}
	if r := decode(t, []byte(out)); r.Status != "success" || len(parseResult(t, r)) != 1 {
		t.Fatalf("with the exec plugin: %s", out)
	}

	_, _, err = runCLI(t, `count(up)`, "--kubeconfig="+execKubeconfig(t, bad), "-n", "europe", at)
	if err == nil {
		t.Fatal("a failing credential plugin gave no error")
	}
	// The plugin's own message goes straight to stderr, as kubectl lets it.
	for _, w := range []string{"credential plugin", "bad-credential-plugin", "exit code 1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "goroutine ") {
		t.Errorf("stack trace in %q", err)
	}
}

func tokenOf(t *testing.T, kubeconfig string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Token
}

// execKubeconfig is the bed's kubeconfig with a user whose credentials come from command.
func execKubeconfig(t *testing.T, command string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{"sso": {Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: command, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}}
	cfg.Contexts = map[string]*clientcmdapi.Context{"sso": {Cluster: cur.Cluster, AuthInfo: "sso"}}
	cfg.CurrentContext = "sso"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// A query that would read a huge result stops at --max-series with a message that says what to
// do, before the series reach memory; --max-samples does the same for the engine's samples.
func TestHugeResultLimits(t *testing.T) {
	kcArg := "--kubeconfig=" + theBed.Kubeconfig
	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	const q = `count({__name__=~".+"})`
	out, stderr, err := runCLI(t, q, kcArg, at, "-o", "json")
	if err != nil {
		t.Fatalf("within the default limits: %v\n%s", err, stderr)
	}
	total := 0.0
	if r := decode(t, []byte(out)); len(parseResult(t, r)) == 1 {
		fmt.Sscan(parseResult(t, r)[0].points[0].v, &total)
	}
	if total < 200 {
		t.Fatalf("the bed has only %v series; the limit below would not bite: %s", total, out)
	}
	for _, tc := range []struct {
		q    string
		args []string
		want []string
	}{
		{q, []string{"--max-series=100"}, []string{"more than 100 series", "--max-series", "label matchers"}},
		{`{__name__=~".+"}[1h]`, []string{"--max-samples=1000"}, []string{"--max-samples"}},
	} {
		_, _, err := runCLI(t, append([]string{tc.q, kcArg, at}, tc.args...)...)
		if err == nil {
			t.Errorf("%v: no error for %v series", tc.args, total)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
		if got := cmd.ExitCode(err); got != 1 {
			t.Errorf("%v: exit code %d, want 1", tc.args, got)
		}
	}
}

// RBAC that allows port-forward in one namespace and not in another: strict, the error names the
// verb, resource and namespace; with --partial-response the namespace that may be read answers,
// with a warning naming what was forbidden where.
func TestPortForwardForbiddenInOneNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := adminClient(t)
	const user = "forward-europe-only"
	path := restrictedKubeconfig(t, ctx, admin, user, true) // europe: read and port-forward
	// united-states: read, but no port-forward.
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list"}},
	}
	if _, err := admin.RbacV1().Roles("united-states").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: rules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("united-states").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: user, Namespace: "default"}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	const q = `count by (cluster) (up{job="api"})`
	_, _, err := runCLI(t, q, "--kubeconfig="+path, at)
	if err == nil {
		t.Fatal("strict: no error without port-forward in united-states")
	}
	for _, w := range []string{"forbidden: you may not create pods/portforward in namespace united-states", "--partial-response"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("strict error %q lacks %q", err, w)
		}
	}
	out, stderr, err := runCLI(t, q, "--kubeconfig="+path, at, "-o", "json", "--partial-response")
	if err != nil {
		t.Fatalf("partial: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "pods/portforward in namespace united-states") {
		t.Errorf("partial: no warning naming the forbidden port-forward: %q", stderr)
	}
	got := parseResult(t, decode(t, []byte(out)))
	if len(got) != 1 || !strings.Contains(got[0].key, "europe") {
		t.Errorf("partial: want europe's answer alone, got %v", got)
	}
}
