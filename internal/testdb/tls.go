package testdb

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// certificates is a throwaway CA and a server certificate it signed, valid
// for 127.0.0.1, ::1 and localhost.
type certificates struct {
	caPEM   []byte
	certPEM []byte
	keyPEM  []byte
}

// newCertificates makes a fresh CA and server certificate. A separate CA
// (rather than one self-signed leaf) makes the chain look like a real one, so
// verification code paths are the ones used against RDS Proxy.
func newCertificates() (*certificates, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lambdards testdb CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &certificates{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// rootCAs returns a pool holding only the CA certificate, or nil when the
// server has no TLS.
func rootCAs(caPEM []byte) *x509.CertPool {
	if caPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return pool
}

// clientTLS returns a client configuration that trusts only the CA and
// checks that the server certificate names host.
func clientTLS(caPEM []byte, host string) *tls.Config {
	if caPEM == nil {
		return nil
	}
	return &tls.Config{RootCAs: rootCAs(caPEM), ServerName: host, MinVersion: tls.VersionTLS12}
}

// useTLS writes a server certificate signed by a throwaway CA, and its key, into the
// server's directory for its OS user, names the two files in settings under certKey and
// keyKey, and returns the CA's certificate for clients. The key is readable by its owner
// alone: PostgreSQL refuses one that others can read.
func (s *server) useTLS(t testing.TB, settings map[string]string, certKey, keyKey string) []byte {
	t.Helper()
	certs, err := newCertificates()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	crt, key := filepath.Join(s.base, "server.crt"), filepath.Join(s.base, "server.key")
	if err := s.as.writeFile(crt, certs.certPEM, 0o644); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if err := s.as.writeFile(key, certs.keyPEM, 0o600); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	settings[certKey], settings[keyKey] = crt, key
	return certs.caPEM
}
