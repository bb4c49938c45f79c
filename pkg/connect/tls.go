package connect

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TLSOptions mirror the Querier's --grpc-client-tls-* flags, for sidecars that serve TLS or
// demand client certificates (mTLS).
type TLSOptions struct {
	Enabled    bool
	CertFile   string // client certificate, for mTLS
	KeyFile    string
	CAFile     string // CA that signed the stores' certificates; system roots when empty
	ServerName string // expected name in the stores' certificates
	SkipVerify bool
}

// DialOption returns the transport credentials for the options, or nil when TLS is off.
func (o TLSOptions) DialOption() (grpc.DialOption, error) {
	if !o.Enabled {
		if o.CertFile != "" || o.KeyFile != "" || o.CAFile != "" || o.ServerName != "" || o.SkipVerify {
			return nil, errors.New("--grpc-client-tls-* flags need --grpc-client-tls-secure")
		}
		return nil, nil
	}
	cfg := &tls.Config{ServerName: o.ServerName, InsecureSkipVerify: o.SkipVerify, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--grpc-client-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--grpc-client-tls-ca %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("--grpc-client-tls-cert and --grpc-client-tls-key go together")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--grpc-client-tls-cert/--grpc-client-tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}
