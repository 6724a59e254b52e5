//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// startCapture starts `teamsflow capture` on a namespace and waits until
// it has attached (its "capturing" log line).
func startCapture(t *testing.T, p *testenv.Pair, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	argv := append([]string{"capture", "--netns", p.Client.Path(), "--interfaces", p.ClientIface}, args...)
	return startCaptureCmd(t, exec.Command(binary, argv...))
}

// startCaptureCmd starts a prepared capture command and waits until it has
// attached.
func startCaptureCmd(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "capturing") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("capture did not start: %s", stderr.String())
	}
	return cmd, &stdout, &stderr
}

func udpExchange(t *testing.T, p *testenv.Pair, port, count int) *testenv.Peer {
	t.Helper()
	addr := fmt.Sprintf("%s:%d", p.ServerIP4, port)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", addr, fmt.Sprint(count))
	cli := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", addr, fmt.Sprint(count), "200", "connect", "nowait", "0")
	cli.Wait(t)
	return cli
}

func parseRecords(t *testing.T, out string) []record.Record {
	t.Helper()
	var recs []record.Record
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// SIGINT ends a capture early and it still prints what it saw, as JSON.
func TestCaptureJSONAndInterrupt(t *testing.T) {
	p := testenv.NewPair(t)
	cmd, stdout, stderr := startCapture(t, p, "--duration", "1h", "--json")
	cli := udpExchange(t, p, 7020, 30)
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, stderr)
	}
	var found bool
	for _, r := range parseRecords(t, stdout.String()) {
		if r.Transport == "udp" && r.PeerPort == 7020 {
			found = true
			if r.PID != cli.PID() || r.Comm != cli.Name || r.PacketsSent != 30 || r.PacketsRecv != 30 ||
				r.BytesSent != 30*228 || r.Kind != "stream" || r.Family != "ipv4" || r.FirstSeen.IsZero() ||
				r.LastSeen.Before(r.FirstSeen) || time.Since(r.LastSeen) > 10*time.Second || time.Until(r.FirstSeen) > 0 {
				t.Errorf("record %+v; want pid %d comm %s 30/30 packets 6840 bytes sent", r, cli.PID(), cli.Name)
			}
		}
	}
	if !found {
		t.Errorf("no record for the UDP flow in:\n%s", stdout)
	}
}

// A full flow map is reported, not silent (without the slots in front,
// which would hold both flows). The first flow's socket stays open while
// the second runs: a closed socket's flow may leave the map before the
// next flow comes.
func TestCaptureReportsLosses(t *testing.T) {
	p := testenv.NewPair(t)
	cmd, stdout, stderr := startCapture(t, p, "--duration", "1h", "--flow-map-size", "1", "--flow-slots", "0")
	first := fmt.Sprintf("%s:%d", p.ServerIP4, 7021)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", first, "5")
	lingering := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", first, "5", "200", "connect", "nowait", "30000")
	lingering.Expect(t, "done")
	udpExchange(t, p, 7022, 5)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if !strings.Contains(stderr.String(), "teamsflow: lost during capture: flow_map_full=") {
		t.Errorf("no loss report; stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout.String(), "PROCESS") {
		t.Errorf("no table printed:\n%s", stdout)
	}
}

// After a SIGKILL, the clsact filters stay (they are not tied to the
// process); the next start removes them and works; after it nothing is
// left.
func TestRestartAfterSIGKILL(t *testing.T) {
	p := testenv.NewPair(t)
	cmd, _, _ := startCapture(t, p, "--duration", "1h", "--tc-mode", "clsact")
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if n := filterCount(t, p); n != 2 {
		t.Fatalf("%d filters after SIGKILL, want the 2 left behind", n)
	}
	cmd, stdout, stderr := startCapture(t, p, "--duration", "1h", "--tc-mode", "clsact", "--json", "--log-level", "debug")
	if n := filterCount(t, p); n != 2 {
		t.Errorf("%d filters while the second agent runs, want 2 (no duplicates)", n)
	}
	udpExchange(t, p, 7023, 10)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("second capture: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "removed filters left by an earlier run") {
		t.Errorf("stale filters not reported:\n%s", stderr)
	}
	var counted bool
	for _, r := range parseRecords(t, stdout.String()) {
		counted = counted || (r.PeerPort == 7023 && r.PacketsSent == 10 && r.PacketsRecv == 10)
	}
	if !counted {
		t.Errorf("second agent did not count the flow exactly once:\n%s", stdout)
	}
	if n := filterCount(t, p); n != 0 {
		t.Errorf("%d filters left after a clean exit", n)
	}
}

func filterCount(t *testing.T, p *testenv.Pair) int {
	t.Helper()
	n := 0
	for _, dir := range []string{"ingress", "egress"} {
		out, err := exec.Command("ip", "netns", "exec", p.Client.Name, "tc", "filter", "show", "dev", p.ClientIface, dir).Output()
		if err != nil {
			continue
		}
		n += strings.Count(string(out), "teamsflow_")
	}
	return n
}
