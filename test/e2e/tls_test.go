package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
)

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	dir    string
	serial int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{caCert: cert, caKey: key, dir: t.TempDir(), serial: 1}
	p.write(t, "ca.crt", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue writes a certificate and key signed by the CA; server certificates name 127.0.0.1.
func (p *pki) issue(t *testing.T, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"sidecar.test"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".crt", "CERTIFICATE", der), p.write(t, name+".key", "EC PRIVATE KEY", kder)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A real Thanos sidecar that serves its StoreAPI with mTLS: with the Querier's --grpc-client-tls-*
// flags we read it; without, the error says TLS is the problem.
func TestSidecarWithMutualTLS(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "sidecar", true)
	cliCert, cliKey := p.issue(t, "plugin", false)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := theBed.Stores[len(theBed.Stores)-1]
	c := exec.Command(filepath.Join(bed.DefaultBinDir(), "thanos"), "sidecar",
		"--prometheus.url", s.PrometheusURL, "--tsdb.path", t.TempDir(),
		"--grpc-address", grpcAddr, "--http-address", httpAddr,
		"--grpc-server-tls-cert", srvCert, "--grpc-server-tls-key", srvKey,
		"--grpc-server-tls-client-ca", filepath.Join(p.dir, "ca.crt"))
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
	tlsFlags := []string{"--grpc-client-tls-secure", "--grpc-client-tls-ca=" + filepath.Join(p.dir, "ca.crt"),
		"--grpc-client-tls-cert=" + cliCert, "--grpc-client-tls-key=" + cliKey}
	out, stderr, err := runCLI(t, append([]string{`count(up{job="node-exporter"})`, "--endpoint=" + grpcAddr, at}, tlsFlags...)...)
	if err != nil || !strings.Contains(out, "2") {
		t.Fatalf("with mTLS: %v\n%s\n%s", err, out, stderr)
	}
	_, _, err = runCLI(t, `count(up)`, "--endpoint="+grpcAddr, "--connect-timeout=5s")
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("plaintext against a TLS store: %v", err)
	}
	_, _, err = runCLI(t, `count(up)`, "--endpoint="+grpcAddr, "--connect-timeout=5s", "--grpc-client-tls-secure", "--grpc-client-tls-ca="+filepath.Join(p.dir, "ca.crt"))
	if err == nil || !strings.Contains(err.Error(), "store "+grpcAddr) {
		t.Fatalf("TLS without the client certificate mTLS demands: %v", err)
	}
	_, _, err = runCLI(t, `up`, "--endpoint="+grpcAddr, "--grpc-client-tls-cert="+cliCert)
	if err == nil || !strings.Contains(err.Error(), "--grpc-client-tls-secure") {
		t.Fatalf("TLS flags without --grpc-client-tls-secure: %v", err)
	}
}
