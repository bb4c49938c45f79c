package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
)

var (
	pluginOnce sync.Once
	pluginPath string
	pluginErr  error
)

// pluginBinary builds the plugin once per test binary run, for tests that need a real process.
func pluginBinary(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "globalquery-plugin-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginPath = filepath.Join(dir, "kubectl-globalquery")
		c := exec.Command("go", "build", "-o", pluginPath, "./cmd/kubectl-globalquery")
		c.Dir = filepath.Dir(bed.DefaultBinDir())
		if b, err := c.CombinedOutput(); err != nil {
			pluginErr = fmt.Errorf("build: %v\n%s", err, b)
		}
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginPath
}

// -v logs requests as kubectl does, and never the credentials: neither a bearer token nor a
// client key.
func TestVerboseLogsRedactSecrets(t *testing.T) {
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	tokenCfg := restrictedKubeconfig(t, ctx, admin, "viewer", true)
	cfg, err := clientcmd.LoadFromFile(tokenCfg)
	if err != nil {
		t.Fatal(err)
	}
	token := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Token
	adminCfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	key := adminCfg.AuthInfos[adminCfg.Contexts[adminCfg.CurrentContext].AuthInfo].ClientKeyData

	bin := pluginBinary(t)
	for _, kc := range []string{tokenCfg, theBed.Kubeconfig} {
		var stderr bytes.Buffer
		c := exec.Command(bin, "stores", "--kubeconfig="+kc, "-v=9")
		c.Stderr = &stderr
		if err := c.Run(); err != nil {
			t.Fatalf("stores -v=9: %v\n%s", err, stderr.String())
		}
		log := stderr.String()
		if !strings.Contains(log, "/api/v1/") {
			t.Fatalf("-v=9 logged no API request:\n%.2000s", log)
		}
		if strings.Contains(log, token) {
			t.Error("the bearer token appears in the -v log")
		}
		if len(key) > 0 {
			keyLine := strings.Split(strings.TrimSpace(string(key)), "\n")[1]
			if strings.Contains(log, keyLine) {
				t.Error("the client key appears in the -v log")
			}
		}
	}
}

// --as impersonates exactly as kubectl does: RBAC of the impersonated user applies.
func TestImpersonation(t *testing.T) {
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	restrictedKubeconfig(t, ctx, admin, "viewer", true) // creates the account and its RBAC
	out, stderr, err := runCLI(t, "stores", "--kubeconfig="+theBed.Kubeconfig, "--as=system:serviceaccount:default:viewer")
	if err != nil {
		t.Fatalf("--as: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "europe/") || strings.Contains(out, "united-states/") {
		t.Fatalf("stores as the europe-only viewer:\n%s", out)
	}
	if !strings.Contains(stderr, "forbidden: you may not list services in namespace united-states") {
		t.Fatalf("no warning for the forbidden namespace:\n%s", stderr)
	}
}

// A slow store is given up on after --store-timeout, and the error names it and the flag.
func TestSlowStore(t *testing.T) {
	slow := startSlowProxy(t, theBed.Stores[2].SidecarGRPC, 3*time.Second)
	proxy := slow.addr
	set, _ := connectStores(t, withEndpoints(theBed.Stores[0].SidecarGRPC, proxy))
	slow.hold() // connected: from now on the proxy holds answers back
	start := time.Now()
	got := runOurs(t, set.FanoutStores(), []string{`count(up)`, "-o", "json", "--store-timeout=1s"})
	if got.Status != "error" || !strings.Contains(got.Error, "store "+proxy) || !strings.Contains(got.Error, "--store-timeout") {
		t.Fatalf("slow store: %+v", got)
	}
	if d := time.Since(start); d > 10*time.Second { // the error above proves the timeout fired; this guards against a hang
		t.Fatalf("giving up took %s", d)
	}
	got = runOurs(t, set.FanoutStores(), []string{`count(up)`, "-o", "json", "--store-timeout=1s", "--partial-response"})
	if got.Status != "success" || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], proxy) {
		t.Fatalf("slow store, partial: %+v", got)
	}
}

// Ctrl-C during a query closes everything and exits 130 at once, without a stack trace.
func TestInterrupt(t *testing.T) {
	bin := pluginBinary(t)
	// Every answer of this store is held back, so the command is still waiting when interrupted.
	slow := startSlowProxy(t, theBed.Stores[0].SidecarGRPC, 20*time.Second)
	slow.hold()
	c := exec.Command(bin, `count(up)`, "--endpoint="+slow.addr)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-slow.holding: // the command is waiting on the store
	case <-time.After(30 * time.Second):
		t.Fatal("the command never reached the store")
	}
	start := time.Now()
	if err := c.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v (stderr %q)", err, stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second { // the held-back answer would take 20 s
		t.Fatalf("stopping took %s", d)
	}
	if !strings.Contains(stderr.String(), "Interrupted") || strings.Contains(stderr.String(), "goroutine") {
		t.Fatalf("stderr: %q", stderr.String())
	}
}
