//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// newSim brings the simulator's namespaces up under names unique to this
// test process.
func newSim(t *testing.T) *testenv.Sim {
	return testenv.NewSim(t, fmt.Sprintf("tfr%d", os.Getpid()%100000))
}

// agentProc is a running `teamsflow run`.
type agentProc struct {
	cmd    *exec.Cmd
	socket string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteLine(l string) { s.mu.Lock(); s.b.WriteString(l + "\n"); s.mu.Unlock() }
func (s *syncBuffer) String() string     { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startRun starts the agent and waits for its "agent running" line.
func startRun(t *testing.T, socket string, args ...string) *agentProc {
	t.Helper()
	return startRunWrapped(t, nil, socket, args...)
}

// startRunWrapped starts the agent under a wrapper command (e.g. setpriv
// with fewer capabilities).
func startRunWrapped(t *testing.T, wrap []string, socket string, args ...string) *agentProc {
	t.Helper()
	argv := append(append(append([]string{}, wrap...), binary, "run", "--socket", socket, "--group", "", "--poll-interval", "500ms"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &agentProc{cmd: cmd, socket: socket, stderr: &syncBuffer{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.stderr.WriteLine(sc.Text())
			if strings.Contains(sc.Text(), `"agent running"`) {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("the agent did not start: %s", p.stderr)
	}
	return p
}

// stop sends SIGTERM and expects a clean exit that removes the socket.
func (p *agentProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent exit: %v\n%s", err, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("the agent did not stop within 15s after SIGTERM")
	}
	if _, err := os.Stat(p.socket); err == nil {
		t.Error("the socket is still there after the agent stopped")
	}
	if !strings.Contains(p.stderr.String(), `"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", p.stderr)
	}
}

func streamsJSON(t *testing.T, socket string) []record.Record {
	t.Helper()
	stdout, stderr, code := runCLI(t, nil, "streams", "--json", "--all-apps", "--socket", socket)
	if code != 0 {
		t.Fatalf("streams: exit %d: %s", code, stderr)
	}
	return parseRecords(t, stdout)
}

// While the simulator plays a desktop call with QoS ports, the running
// agent answers `teamsflow streams` with its streams and their owners, and
// `teamsflow streams --watch` shows them in a terminal.
func TestRunServesSimulatedCall(t *testing.T) {
	testenv.RequirePrivileged(t)
	sim := newSim(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "api.sock")
	agent := startRun(t, socket, "--netns", sim.ClientNetnsPath)

	_, stderr, code := runCLI(t, nil, "run", "--socket", socket, "--group", "")
	if code != 1 || !strings.Contains(stderr, "teamsflow: another teamsflow agent is already listening on "+socket) {
		t.Errorf("second agent: exit %d, %q", code, stderr)
	}

	call := sim.Start(t, "desktop-qos", "15s")
	time.Sleep(8 * time.Second)
	t.Run("rates during the call", func(t *testing.T) { checkMediaRates(t, streamsJSON(t, socket)) })
	t.Run("watch in tmux", func(t *testing.T) { checkWatchInTmux(t, socket) })
	tr := call.Wait(t)
	t.Run("streams match the truth", func(t *testing.T) { checkAgainstTruth(t, tr, streamsJSON(t, socket)) })
	agent.stop(t)
}

// checkMediaRates: the QoS media ports carry traffic in both directions
// to the media processor now.
func checkMediaRates(t *testing.T, recs []record.Record) {
	for port, peer := range map[uint16]uint16{50000: 3479, 50020: 3480, 50040: 3481} {
		found := false
		for _, r := range recs {
			// The flow's own record; its RTP sources have a record per direction.
			if r.Transport == "udp" && r.LocalPort == port && r.PeerPort == peer && r.Comm == "ms-teams" && r.SSRC == nil {
				found = true
				// Screen share idles between changes: a quiet last second is truthful.
				if port == 50040 && r.BytesSent > 0 && r.BytesRecv > 0 {
					continue
				}
				if r.RateSentBps <= 0 || r.RateRecvBps <= 0 {
					t.Errorf("port %d: rates %v/%v bit/s during the call", port, r.RateSentBps, r.RateRecvBps)
				}
			}
		}
		if !found {
			t.Errorf("no record from local port %d", port)
		}
	}
}

type fiveTuple struct {
	transport string
	localPort uint16
	peerAddr  string
	peerPort  uint16
}

// checkAgainstTruth: every flow the simulator made is a record with the
// right owner and DSCP; when the records carry labels (the analysis
// pipeline), each must be one of the truth's labels for that flow (or
// that SSRC).
func checkAgainstTruth(t *testing.T, tr *truth.File, recs []record.Record) {
	byTuple := map[fiveTuple][]record.Record{}
	for _, r := range recs {
		k := fiveTuple{r.Transport, r.LocalPort, r.PeerAddr, r.PeerPort}
		byTuple[k] = append(byTuple[k], r)
	}
	checked := 0
	for _, s := range tr.Streams {
		k := fiveTuple{s.Transport, uint16(s.LocalPort), s.PeerAddr, uint16(s.PeerPort)}
		got := byTuple[k]
		if len(got) == 0 {
			t.Errorf("no record for the simulator's %s stream %+v", s.Label, k)
			continue
		}
		checked++
		for _, r := range got {
			if int(r.PID) != s.PID || r.Comm != s.Comm {
				t.Errorf("%+v: owner pid %d comm %q, want pid %d comm %q", k, r.PID, r.Comm, s.PID, s.Comm)
			}
			if s.Transport == "udp" && s.DSCP != 0 && r.PacketsSent > 0 && int(r.DSCPSent) != s.DSCP {
				t.Errorf("%+v: DSCP %d, want %d", k, r.DSCPSent, s.DSCP)
			}
			if r.Label != "" && !truthHasLabel(tr, k, r) {
				t.Errorf("%+v ssrc %d: label %q is not the simulator's", k, ptrValue(r.SSRC), r.Label)
			}
		}
	}
	if checked < 8 {
		t.Errorf("only %d truth streams checked", checked)
	}
}

// truthHasLabel: the truth lists the client's SSRCs; the far end echoes
// each under an SSRC of its own, which carries the same kind of media.
func truthHasLabel(tr *truth.File, k fiveTuple, r record.Record) bool {
	received := r.SSRC != nil && r.PacketsSent == 0
	for _, s := range tr.Streams {
		if (fiveTuple{s.Transport, uint16(s.LocalPort), s.PeerAddr, uint16(s.PeerPort)}) != k || s.Label != r.Label {
			continue
		}
		if r.SSRC == nil || s.SSRC == 0 || *r.SSRC == s.SSRC || received {
			return true
		}
	}
	return false
}

func ptrValue[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// checkWatchInTmux runs `teamsflow streams --watch` in a detached tmux
// session (its own tmux server), reads the screen, then quits with q.
func checkWatchInTmux(t *testing.T, socket string) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is missing: 'make deps' installs it")
	}
	server := fmt.Sprintf("tfwatch%d", os.Getpid())
	run := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", server}, args...)...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { _, _ = run("kill-server") })
	watch := fmt.Sprintf("%s streams --watch --all-apps --interval 1s --socket %s", binary, socket)
	if out, err := run("new-session", "-d", "-s", "w", "-x", "220", "-y", "60", watch); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	time.Sleep(3 * time.Second)
	screen, err := run("capture-pane", "-p", "-t", "w")
	if err != nil {
		t.Fatalf("capture-pane: %v %s", err, screen)
	}
	for _, want := range []string{`teamsflow streams: every 1s, q to quit`, `PROCESS\s+PID\s+APP\s+LABEL`,
		`ms-teams\s+\d+\s+.*udp\s+50000\s+\S+:3479\s+EF\s`, `ms-teams\s+\d+\s+.*udp\s+50020\s+\S+:3480\s+AF41\s`} {
		if !regexp.MustCompile(want).MatchString(screen) {
			t.Errorf("screen lacks %s:\n%s", want, screen)
		}
	}
	_, _ = run("send-keys", "-t", "w", "q")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := run("has-session", "-t", "w"); err != nil {
			return // the watch ended: q works
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("streams --watch did not quit on q")
}
