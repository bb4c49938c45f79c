package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/internal/pki"
	"github.com/globalquery/kubectl-globalquery/internal/supervise"
)

// newCA makes a CA of the test's own, for certificates no bed CA signed.
func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue signs name's certificate and returns its files; server certificates name 127.0.0.1
// and sidecar.test.
func issue(t *testing.T, ca *pki.CA, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	var dns []string
	var ips []net.IP
	if server {
		dns, ips = []string{"sidecar.test"}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	if _, err := ca.Issue(name, name, nil, dns, ips); err != nil {
		t.Fatal(err)
	}
	return ca.Path(name, "crt"), ca.Path(name, "key")
}

// freePorts are n loopback ports free just now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := supervise.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// A real Thanos sidecar that serves its StoreAPI with mTLS: with the Querier's --grpc-client-tls-*
// flags we read it; without, the error says TLS is the problem.
func TestSidecarWithMutualTLS(t *testing.T) {
	p := newCA(t)
	srvCert, srvKey := issue(t, p, "sidecar", true)
	cliCert, cliKey := issue(t, p, "plugin", false)
	ports := freePorts(t, 2)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	httpAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	s := theBed.Stores[len(theBed.Stores)-1]
	c := exec.Command(filepath.Join(bed.DefaultBinDir(), "thanos"), "sidecar",
		"--prometheus.url", s.PrometheusURL, "--tsdb.path", t.TempDir(),
		"--grpc-address", grpcAddr, "--http-address", httpAddr,
		"--grpc-server-tls-cert", srvCert, "--grpc-server-tls-key", srvKey,
		"--grpc-server-tls-client-ca", p.Path("ca", "crt"))
	logf, _ := os.Create(filepath.Join(t.TempDir(), "sidecar.log"))
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	deadline := time.Now().Add(40 * time.Second)
	for {
		r, err := http.Get("http://" + httpAddr + "/-/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("TLS sidecar not ready")
		}
		time.Sleep(200 * time.Millisecond)
	}

	at := "--time=" + secs(theBed.HistoryEnd-10*60_000)
	tlsFlags := []string{"--grpc-client-tls-secure", "--grpc-client-tls-ca=" + p.Path("ca", "crt"),
		"--grpc-client-tls-cert=" + cliCert, "--grpc-client-tls-key=" + cliKey}
	out, stderr, err := runCLI(t, append([]string{`count(up{job="node-exporter"})`, "--endpoint=" + grpcAddr, at}, tlsFlags...)...)
	if err != nil || !strings.Contains(out, "2") {
		t.Fatalf("with mTLS: %v\n%s\n%s", err, out, stderr)
	}
	_, _, err = runCLI(t, `count(up)`, "--endpoint="+grpcAddr, "--connect-timeout=5s")
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("plaintext against a TLS store: %v", err)
	}
	_, _, err = runCLI(t, `count(up)`, "--endpoint="+grpcAddr, "--connect-timeout=5s", "--grpc-client-tls-secure", "--grpc-client-tls-ca="+p.Path("ca", "crt"))
	if err == nil || !strings.Contains(err.Error(), "store "+grpcAddr) {
		t.Fatalf("TLS without the client certificate mTLS demands: %v", err)
	}
	_, _, err = runCLI(t, `up`, "--endpoint="+grpcAddr, "--grpc-client-tls-cert="+cliCert)
	if err == nil || !strings.Contains(err.Error(), "--grpc-client-tls-secure") {
		t.Fatalf("TLS flags without --grpc-client-tls-secure: %v", err)
	}
}
