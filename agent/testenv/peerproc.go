package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// Peer is a running peer process.
type Peer struct {
	Cmd   *exec.Cmd
	Name  string
	Ready string // what the peer printed after "ready ", e.g. its address
	stdin io.WriteCloser
	lines chan string
	done  chan error
}

// StartPeer starts the test binary as a peer named name (its comm and exe
// basename) inside ns, in the given mode, and waits until it is ready.
func StartPeer(t testing.TB, ns netns.Named, name, mode string, args ...string) *Peer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	p := &Peer{Name: name, lines: make(chan string, 16), done: make(chan error, 1)}
	p.Cmd = ns.Command(link, args...)
	p.Cmd.Env = append(os.Environ(), peerEnv+"="+mode)
	p.Cmd.Stderr = os.Stderr
	out, _ := p.Cmd.StdoutPipe()
	p.stdin, _ = p.Cmd.StdinPipe()
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- p.Cmd.Wait()
	}()
	t.Cleanup(func() { _ = p.Cmd.Process.Kill() })
	line := p.Expect(t, "ready")
	p.Ready = strings.TrimSpace(strings.TrimPrefix(line, "ready"))
	return p
}

// PID is the peer's process id.
func (p *Peer) PID() uint32 { return uint32(p.Cmd.Process.Pid) }

// Expect waits for an output line starting with prefix.
func (p *Peer) Expect(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("peer %s exited before printing %q", p.Name, prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("peer %s did not print %q within 10s", p.Name, prefix)
		}
	}
}

// Go releases a peer that waits for a line on stdin.
func (p *Peer) Go() { _, _ = io.WriteString(p.stdin, "go\n") }

// Wait waits for the peer to exit successfully.
func (p *Peer) Wait(t testing.TB) {
	t.Helper()
	for range p.lines {
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("peer %s: %v", p.Name, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("peer %s did not exit", p.Name)
	}
}
