// Package otelcol runs a real OpenTelemetry Collector for tests: an OTLP
// receiver (gRPC and HTTP) on free loopback ports and the file exporter
// writing OTLP JSON into a temporary directory, which Spans and Metrics read
// back.
//
// The binary comes from $TEAMSFLOW_OTELCOL, or from deploy/otel-collector/build.sh, which builds
// it once and caches it (a cold build takes minutes; CI runs the script first).
package otelcol

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// EnvBinary names a prebuilt collector binary to use instead of building one.
const EnvBinary = "TEAMSFLOW_OTELCOL"

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the collector binary, building it with build.sh when needed.
func Binary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() { binaryPath, binaryErr = findBinary() })
	if binaryErr != nil {
		t.Fatalf("OpenTelemetry Collector: %v", binaryErr)
	}
	return binaryPath
}

func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		return p, nil
	}
	script := filepath.Join(testenv.ModuleRoot(), "deploy", "otel-collector", "build.sh")
	var stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s failed: %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// TLS makes the collector's OTLP receivers speak TLS with these PEM files.
// ClientCAFile, when set, requires clients to present a certificate it signed.
type TLS struct {
	CertFile, KeyFile, ClientCAFile string
}

// Options shape the collector's configuration.
type Options struct {
	TLS *TLS
}

// Collector is a collector with the test configuration: OTLP receivers on
// free loopback ports, file exporters writing spans and metrics as JSON
// into Dir.
type Collector struct {
	t        testing.TB
	opts     Options
	Dir      string // the file exporter's output, one file per start
	GRPCAddr string // host:port of the OTLP/gRPC receiver
	HTTPAddr string // host:port of the OTLP/HTTP receiver
	runs     int
	proc     *Process
	log      string
}

// Start runs a collector until the test ends.
func Start(t testing.TB, opts Options) *Collector {
	t.Helper()
	c := &Collector{t: t, opts: opts, Dir: t.TempDir(), GRPCAddr: FreeAddr(t), HTTPAddr: FreeAddr(t)}
	c.Restart()
	t.Cleanup(c.Stop)
	return c
}

// Restart starts the collector again on the same ports (after Stop).
func (c *Collector) Restart() {
	c.t.Helper()
	if c.proc != nil {
		c.t.Fatal("collector: Restart while running")
	}
	c.runs++
	cfg := filepath.Join(c.Dir, fmt.Sprintf("config-%d.yaml", c.runs))
	if err := os.WriteFile(cfg, []byte(c.config()), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.proc = Run(c.t, cfg, nil, c.GRPCAddr, c.HTTPAddr)
}

// Stop ends the collector gracefully, so the file exporter flushes.
func (c *Collector) Stop() {
	if c.proc != nil {
		c.proc.Stop()
		c.log = c.proc.Log()
		c.proc = nil
	}
}

// Log is the collector's output of its current or last run.
func (c *Collector) Log() string {
	if c.proc != nil {
		return c.proc.Log()
	}
	return c.log
}

func (c *Collector) config() string {
	tls := ""
	if c.opts.TLS != nil {
		tls = fmt.Sprintf("\n        tls:\n          cert_file: %s\n          key_file: %s", c.opts.TLS.CertFile, c.opts.TLS.KeyFile)
		if c.opts.TLS.ClientCAFile != "" {
			tls += fmt.Sprintf("\n          client_ca_file: %s", c.opts.TLS.ClientCAFile)
		}
	}
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s%s
      http:
        endpoint: %s%s
exporters:
  file:
    path: %s
    format: json
    flush_interval: 100ms
  file/metrics:
    path: %s
    format: json
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics]
`, c.GRPCAddr, tls, c.HTTPAddr, tls, filepath.Join(c.Dir, fmt.Sprintf("spans-%d.json", c.runs)),
		filepath.Join(c.Dir, fmt.Sprintf("metrics-%d.json", c.runs)))
}

// FreeAddr finds a loopback port nobody listens on now. Another process could
// take it before the collector does; on loopback in a test that is rare.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
