package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// faultPeers are the child processes the fault tests need beyond
// testenv's peers: many flows from one process, a storm of short-lived
// sockets, datagrams from a fixed port. TestMain hands them to
// testenv.PeerMain; tests start them with testenv.StartPeer.
var faultPeers = testenv.PeerModes{
	"fault-udp-flows": func(a []string) error {
		return udpFlows(a[0], testenv.Atoi(a[1]), testenv.Atoi(a[2]), testenv.Atoi(a[3]))
	},
	"fault-socket-storm": func(a []string) error { return socketStorm(testenv.Atoi(a[0])) },
	"fault-udp-from": func(a []string) error {
		return udpFrom(a[0], a[1], testenv.Atoi(a[2]), testenv.Atoi(a[3]))
	},
}

// udpFlows waits for a line on stdin, then opens flows connected UDP
// sockets to addr (each its own local port, so its own flow), prints
// "port N" for each, sends count datagrams of size bytes on every one,
// prints "done", and exits after another line on stdin: until then its
// ports cannot go to another process's sockets, whose datagrams would
// join its flows.
func udpFlows(addr string, flows, count, size int) error {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	waitForGo()
	conns := make([]*net.UDPConn, 0, flows)
	for range flows {
		c, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return err
		}
		defer c.Close()
		conns = append(conns, c)
		fmt.Println("port", c.LocalAddr().(*net.UDPAddr).Port)
	}
	buf := make([]byte, size)
	for _, c := range conns {
		for range count {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
	}
	fmt.Println("done")
	waitForGo()
	return nil
}

// udpFrom sends count datagrams of size bytes from the local address (a
// fixed port) to addr, then exits.
func udpFrom(local, addr string, count, size int) error {
	laddr, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		return err
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready", c.LocalAddr())
	for range count {
		if _, err := c.Write(make([]byte, size)); err != nil {
			return err
		}
	}
	return nil
}

// socketStorm waits for a line on stdin, then opens and closes n UDP
// sockets as fast as it can: each one is an open and a close event for the
// ring buffer.
func socketStorm(n int) error {
	fmt.Println("ready")
	waitForGo()
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		_ = unix.Close(fd)
	}
	fmt.Println("done")
	return nil
}

func waitForGo() { _, _ = bufio.NewReader(os.Stdin).ReadString('\n') }

// logLines keeps the agent's zerolog output so that a test can count the
// lines by level: an error storm is a defect even when nothing else fails.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		l.lines = append(l.lines, string(line))
	}
	return len(p), nil
}

// warnings returns the lines at level warn or above.
func (l *logLines) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		for _, lvl := range []string{`"level":"warn"`, `"level":"error"`, `"level":"fatal"`, `"level":"panic"`} {
			if strings.Contains(s, lvl) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// containing counts the lines that contain s.
func (l *logLines) containing(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logLines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// startAgentLogged runs the agent with cfg, its log kept in the returned
// lines (at debug level, so the count includes every line it writes).
func startAgentLogged(t *testing.T, cfg Config) (*Agent, *logLines) {
	t.Helper()
	lines := &logLines{}
	cfg.Log = zerolog.New(lines).Level(zerolog.DebugLevel)
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	a, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Close()
		for _, l := range lines.warnings() {
			t.Log("agent:", l)
		}
	})
	return a, lines
}

// udpSink binds a UDP socket inside ns that nobody reads: datagrams to it
// are delivered (no ICMP errors back) and dropped when its buffer is full.
func udpSink(t *testing.T, ns netns.Named, addr string) {
	t.Helper()
	var c net.PacketConn
	err := ns.Do(func() error {
		var err error
		c, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
}
