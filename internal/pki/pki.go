// Package pki makes the certificates of the test bed and of the tests: one CA that signs serving
// and client certificates, ECDSA P-256, written as PEM files into one directory.
package pki

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
	"os"
	"path/filepath"
	"time"
)

// CA signs every certificate of one bed or test, which keeps the kubeconfigs small and lets
// one ca.crt verify every peer.
type CA struct {
	dir string

	// Cert is the CA certificate, PEM.
	Cert   []byte
	caKey  *ecdsa.PrivateKey
	caX509 *x509.Certificate
}

// Pair is a certificate and its key, PEM.
type Pair struct {
	Cert, Key []byte
}

// ECDSA P-256 throughout: key generation is instant, whereas RSA-2048 costs a
// noticeable share of a cold start on a small machine.
func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

// New makes a CA and writes ca.crt and ca.key into dir.
func New(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	// Backdated by an hour: a certificate that is valid only from "now" can
	// be refused by a peer whose clock reads a little earlier.
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "bed-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &CA{dir: dir, caKey: key, caX509: c,
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	if err := p.write("ca", Pair{Cert: p.Cert, Key: kp}); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *CA) write(name string, kp Pair) error {
	if err := os.WriteFile(filepath.Join(p.dir, name+".crt"), kp.Cert, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.dir, name+".key"), kp.Key, 0o600)
}

// Path is where name's file with extension ext (crt or key) was written.
func (p *CA) Path(name, ext string) string { return filepath.Join(p.dir, name+"."+ext) }

// Issue signs a leaf certificate and writes it as name.crt and name.key. A non-empty dns or ips
// list makes it a serving certificate; otherwise it is a client certificate whose CN and O are
// the Kubernetes user name and groups.
func (p *CA) Issue(name, cn string, orgs []string, dns []string, ips []net.IP) (Pair, error) {
	key, err := newKey()
	if err != nil {
		return Pair{}, err
	}
	sn, err := serial()
	if err != nil {
		return Pair{}, err
	}
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now,
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	if len(dns) > 0 || len(ips) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caX509, &key.PublicKey, p.caKey)
	if err != nil {
		return Pair{}, fmt.Errorf("sign %s: %w", name, err)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return Pair{}, err
	}
	pair := Pair{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Key: kp}
	return pair, p.write(name, pair)
}

// SigningKey writes a key pair for signing tokens, as name.key and name.pub: the service
// account key the API server and the controller manager share.
func (p *CA) SigningKey(name string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".key"), kp, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.dir, name+".pub"),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}
