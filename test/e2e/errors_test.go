package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
)

// writeKubeconfig writes the bed's kubeconfig changed by edit.
type kubeconfigEdit struct {
	server string
	ca     []byte
	token  *string
}

func writeKubeconfig(t *testing.T, edit func(*kubeconfigEdit)) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	cl, ai := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	v := kubeconfigEdit{server: cl.Server, ca: cl.CertificateAuthorityData}
	edit(&v)
	cl.Server, cl.CertificateAuthorityData = v.server, v.ca
	if v.token != nil {
		ai.ClientCertificateData, ai.ClientKeyData, ai.ClientCertificate, ai.ClientKey = nil, nil, "", ""
		ai.Token = *v.token
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Each failure says what failed, where, and what to do, in one line: never a stack trace, a
// bare "context deadline exceeded" or "rpc error: code = ...".
func TestErrorsSayWhatAndWhere(t *testing.T) {
	unreachable := writeKubeconfig(t, func(c *kubeconfigEdit) { c.server = "https://127.0.0.1:1" })
	badToken := "not-a-valid-token"
	expired := writeKubeconfig(t, func(c *kubeconfigEdit) { c.token = &badToken })
	// A CA that did not sign the API server's certificate.
	wrongCA := writeKubeconfig(t, func(c *kubeconfigEdit) { c.ca = selfSignedCA(t) })

	for _, tc := range []struct {
		name string
		args []string
		want []string
		exit int
	}{
		{"invalid PromQL is caught before any connection", []string{"sum(rate(x[5m]) by (job)", "--kubeconfig=" + unreachable},
			[]string{"invalid query", "^"}, 2},
		{"conflicting flags", []string{"up", "--time=1", "--start=2"}, []string{"--time", "--start"}, 2},
		{"unknown flag", []string{"up", "--frobnicate"}, []string{"unknown flag: --frobnicate"}, 2},
		{"missing kubeconfig", []string{"up", "--kubeconfig=/nonexistent/kubeconfig"}, []string{"/nonexistent/kubeconfig", "no such file"}, 1},
		{"unknown context", []string{"up", "--kubeconfig=" + theBed.Kubeconfig, "--context=nope"}, []string{`context "nope" does not exist`}, 1},
		{"API server unreachable", []string{"up", "--kubeconfig=" + unreachable, "--request-timeout=5s"}, []string{"cannot reach the API server at https://127.0.0.1:1"}, 1},
		{"TLS mismatch", []string{"up", "--kubeconfig=" + wrongCA, "--request-timeout=5s"}, []string{"TLS handshake with the API server at https://127.0.0.1:", "wrong CA"}, 1},
		{"rejected token", []string{"up", "--kubeconfig=" + expired}, []string{"unauthorized", "credentials"}, 1},
		{"no prometheus-operated", []string{"up", "--kubeconfig=" + theBed.Kubeconfig, "-n", "default"},
			[]string{`no service "prometheus-operated" found in namespace default`, "--service", "-l", "--endpoint"}, 1},
		{"unreachable endpoint", []string{"up", "--endpoint=127.0.0.1:1", "--connect-timeout=3s"}, []string{"store 127.0.0.1:1", "unavailable"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := runCLI(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, bad := range []string{"rpc error: code =", "goroutine ", "panic:"} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q contains %q", msg, bad)
				}
			}
			if msg == "context deadline exceeded" {
				t.Error("bare context deadline exceeded")
			}
			if got := cmd.ExitCode(err); got != tc.exit {
				t.Errorf("exit code %d, want %d", got, tc.exit)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
}

// selfSignedCA is a CA that did not sign the API server's certificate.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	return newCA(t).Cert
}
