package exporter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "teamsflow test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := testPKI{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)}
	p.ServerCert, p.ServerKey = leaf(t, dir, "server", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = leaf(t, dir, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	return p
}

func leaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (cert, key string) {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "teamsflow test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportTLS: a collector that requires TLS and a client certificate
// gets the call from an exporter with the CA file and the client pair, over
// both protocols; without the client certificate exports fail and are counted.
func TestExportTLS(t *testing.T) {
	pki := newTestPKI(t)
	col := otelcol.Start(t, otelcol.Options{TLS: &otelcol.TLS{
		CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CA,
	}})
	for _, tc := range []struct{ proto, addr string }{{ProtocolGRPC, col.GRPCAddr}, {ProtocolHTTP, "https://" + col.HTTPAddr}} {
		t.Run(tc.proto, func(t *testing.T) {
			before := len(col.Spans(t))
			e := newTestExporter(t, Config{
				Endpoint: tc.addr, Protocol: tc.proto,
				CAFile: pki.CA, ClientCertFile: pki.ClientCert, ClientKeyFile: pki.ClientKey,
			})
			e.Observe(time.Now(), shortStreams("tls-"+tc.proto, 3, time.Now()))
			shutdown(t, e)
			if st := e.Counters(); st.SpansExported != 3 {
				t.Fatalf("stats %+v: want 3 spans exported over TLS", st)
			}
			col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) == before+3 })
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		e := newTestExporter(t, Config{Endpoint: col.GRPCAddr, CAFile: pki.CA, RetryMax: -1})
		e.Observe(time.Now(), shortStreams("tls-nocert", 3, time.Now()))
		shutdown(t, e)
		if st := e.Counters(); st.SpansExported != 0 || st.SpansDropped != 3 || st.ExportErrors == 0 {
			t.Errorf("stats %+v: want the 3 spans dropped after a failed export", st)
		}
	})
}
