package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/webrtc"
)

// agentProc is a running `teamsflow run` watching the client namespace.
type agentProc struct {
	cmd    *exec.Cmd
	socket string
	mu     sync.Mutex
	log    strings.Builder
	exited chan error
}

// startAgent starts the agent with one poll a second (its default cadence
// for `streams`), exporting to the collector at otlp, and waits until it
// says it runs.
func startAgent(t *testing.T, socket, netnsPath, otlp string) *agentProc {
	t.Helper()
	a := &agentProc{socket: socket, exited: make(chan error, 1)}
	a.cmd = exec.Command(binary, "run", "--socket", socket, "--group", "", "--poll-interval", "1s",
		"--netns", netnsPath, "--export-endpoint", otlp, "--export-insecure")
	pr, pw := io.Pipe()
	a.cmd.Stderr = pw
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.exited <- a.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = a.cmd.Process.Kill() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			a.mu.Lock()
			a.log.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
			if strings.Contains(sc.Text(), `"agent running"`) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not start within 30s:\n%s", a.logText())
	}
	return a
}

func (a *agentProc) logText() string { a.mu.Lock(); defer a.mu.Unlock(); return a.log.String() }

// stop ends the agent with SIGTERM; it exports what it has on the way out.
func (a *agentProc) stop(t *testing.T) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		if err != nil {
			t.Errorf("agent exit: %v\n%s", err, a.logText())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("the agent did not stop within 20s of SIGTERM")
	}
}

// read is one answer of the agent: its stream records at a moment.
type read struct {
	at   time.Time
	recs []record.Record
}

// polled is what pollReads gathered: every answer, and the command line
// of each process the agent named as an owner of media towards the peer,
// read while it still ran.
type polled struct {
	reads    []read
	cmdlines map[uint32]string
}

// pollReads asks the agent for its streams every second, as `teamsflow
// streams --watch` does, until stop is closed.
func pollReads(t *testing.T, socket string, stop <-chan struct{}) <-chan polled {
	out := make(chan polled, 1)
	client := api.NewClient(socket)
	go func() {
		p := polled{cmdlines: map[uint32]string{}}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- p
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				recs, err := client.Streams(ctx, true)
				cancel()
				if err != nil {
					t.Errorf("asking the agent during the call: %v", err)
					continue
				}
				p.reads = append(p.reads, read{at: time.Now(), recs: recs})
				p.noteOwners(recs)
			}
		}
	}()
	return out
}

func (p *polled) noteOwners(recs []record.Record) {
	for _, r := range recs {
		if r.SSRC == nil || r.PeerAddr != webrtc.MediaIP || r.PID == 0 {
			continue
		}
		if _, ok := p.cmdlines[r.PID]; !ok {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", r.PID))
			p.cmdlines[r.PID] = strings.ReplaceAll(string(b), "\x00", " ")
		}
	}
}

// streams is one read now.
func streams(t *testing.T, socket string) []record.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := api.NewClient(socket).Streams(ctx, true)
	if err != nil {
		t.Fatalf("asking the agent after the call: %v", err)
	}
	return recs
}
