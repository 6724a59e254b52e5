package otelcol

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a collector running any configuration file.
type Process struct {
	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
}

// Run starts the collector with config and extra environment ("K=V"), waits
// until every address in ready accepts connections, and stops it when the
// test ends.
func Run(t testing.TB, config string, env []string, ready ...string) *Process {
	t.Helper()
	p := &Process{t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), "--config", config)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the collector: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Stop)
	p.waitReady(ready)
	return p
}

// Write collects the collector's output; it may come from two pipes at once.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// Log is the collector's output so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *Process) waitReady(addrs []string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range addrs {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-p.exited:
				p.t.Fatalf("collector exited at start:\n%s", p.Log())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				p.t.Fatalf("collector not listening on %s after 30s:\n%s", addr, p.Log())
			}
		}
	}
}

// Stop ends the collector gracefully (SIGTERM), so exporters flush; it
// kills it after 15 s. Stopping twice is fine.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
