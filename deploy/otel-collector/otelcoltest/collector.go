// Package otelcoltest runs a real OpenTelemetry Collector for tests: an OTLP
// receiver (gRPC and HTTP) on free loopback ports and the file exporter
// writing OTLP JSON into a temporary directory, which Spans reads back.
//
// The binary comes from $TEAMSFLOW_OTELCOL, or from ../build.sh, which builds
// it once and caches it (a cold build takes minutes; CI runs the script first).
package otelcoltest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "build.sh")
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

// Collector is a running collector process.
type Collector struct {
	t        testing.TB
	bin      string
	opts     Options
	Dir      string // the file exporter's output, one file per start
	GRPCAddr string // host:port of the OTLP/gRPC receiver
	HTTPAddr string // host:port of the OTLP/HTTP receiver
	runs     int
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *bytes.Buffer
}

// Start runs a collector until the test ends.
func Start(t testing.TB, opts Options) *Collector {
	t.Helper()
	c := &Collector{
		t: t, bin: Binary(t), opts: opts, Dir: t.TempDir(),
		GRPCAddr: freeAddr(t), HTTPAddr: freeAddr(t),
	}
	c.Restart()
	t.Cleanup(c.Stop)
	return c
}

// Restart starts the collector again on the same ports (after Stop).
func (c *Collector) Restart() {
	c.t.Helper()
	if c.cmd != nil {
		c.t.Fatal("collector: Restart while running")
	}
	c.runs++
	cfg := filepath.Join(c.Dir, fmt.Sprintf("config-%d.yaml", c.runs))
	if err := os.WriteFile(cfg, []byte(c.config()), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.log = &bytes.Buffer{}
	c.cmd = exec.Command(c.bin, "--config", cfg)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("starting the collector: %v", err)
	}
	c.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(c.cmd, c.exited)
	c.waitReady()
}

func (c *Collector) waitReady() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{c.GRPCAddr, c.HTTPAddr} {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-c.exited:
				c.t.Fatalf("collector exited at start:\n%s", c.log.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("collector not listening on %s after 30s:\n%s", addr, c.log.String())
			}
		}
	}
}

// Stop ends the collector gracefully, so the file exporter flushes.
func (c *Collector) Stop() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

// Log is the collector's output of its current or last run.
func (c *Collector) Log() string {
	return c.log.String()
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
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
`, c.GRPCAddr, tls, c.HTTPAddr, tls, filepath.Join(c.Dir, fmt.Sprintf("spans-%d.json", c.runs)))
}

// freeAddr finds a loopback port nobody listens on now. Another process could
// take it before the collector does; on loopback in a test that is rare.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
