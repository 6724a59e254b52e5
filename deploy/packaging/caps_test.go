package packaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// nobody is the unprivileged user the capability tests run the agent as:
// only the capabilities given, no root ownership of anything.
const nobody = "65534"

// capture is one `teamsflow capture` run under a capability set, inside
// the client namespace of a pair (so the agent's own network namespace is
// the one with the traffic, as the service's is the host's).
type capture struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	ready  chan struct{}
	exited chan struct{}
}

// startCaptureWithCaps runs the agent as nobody holding exactly caps
// (names as in the unit, e.g. CAP_BPF) as ambient, inheritable and
// bounding set, and waits until it attached or exited.
func startCaptureWithCaps(t *testing.T, p *testenv.Pair, caps []string) *capture {
	t.Helper()
	set := "-all"
	for _, c := range caps {
		set += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	c := &capture{ready: make(chan struct{}), exited: make(chan struct{})}
	// nsenter, not `ip netns exec`: the latter remounts /sys, which hides
	// the cgroup hierarchy the socket hooks attach to.
	c.cmd = exec.Command("nsenter", "--net="+p.Client.Path(), "setpriv", "--reuid="+nobody, "--regid="+nobody, "--clear-groups",
		"--inh-caps="+set, "--ambient-caps="+set, "--bounding-set="+set,
		binary, "capture", "--duration", "1h", "--json", "--interfaces", p.ClientIface)
	c.cmd.Stdout = &c.stdout
	pr, pw := io.Pipe()
	c.cmd.Stderr = pw
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "capturing") {
				close(c.ready)
			}
		}
	}()
	go func() { _ = c.cmd.Wait(); pw.Close(); close(c.exited) }()
	select {
	case <-c.ready:
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("capture did not start: %s", c.stderr.String())
	}
	return c
}

// stop interrupts the capture and returns its records.
func (c *capture) stop(t *testing.T) []record.Record {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("capture did not stop after SIGINT")
	}
	if !c.cmd.ProcessState.Success() {
		t.Fatalf("capture failed: %s\n%s", c.cmd.ProcessState, c.stderr.String())
	}
	var recs []record.Record
	for _, line := range strings.Split(strings.TrimSpace(c.stdout.String()), "\n") {
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// ownedFlows starts the flows whose owners the agent must find: a TCP
// connection made before the agent starts (its owner can only come from
// /proc, the backfill) and a UDP exchange made while it runs (the socket
// hooks). It returns a function that runs the traffic once the agent is
// attached, and the TCP client.
func ownedFlows(t *testing.T, p *testenv.Pair) (traffic func(), tcpClient *testenv.Peer) {
	t.Helper()
	tcpAddr := fmt.Sprintf("%s:%d", p.ServerIP4, 7601)
	testenv.StartPeer(t, p.Server, "tf-tcp-server", "tcp-server", tcpAddr, "1000")
	tcpClient = testenv.StartPeer(t, p.Client, "tf-tcp-early", "tcp-client", tcpAddr, "1000", "wait")
	traffic = func() {
		tcpClient.Go()
		tcpClient.Expect(t, "done")
		udpAddr := fmt.Sprintf("%s:%d", p.ServerIP4, 7602)
		testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", udpAddr, "10")
		udpClient := testenv.StartPeer(t, p.Client, "tf-udp-late", "udp-client", udpAddr, "10", "200", "connect", "nowait", "0")
		udpClient.Wait(t)
		time.Sleep(300 * time.Millisecond)
	}
	return traffic, tcpClient
}

// flowTo finds the client side of the flow to a server port.
func flowTo(recs []record.Record, transport string, port uint16) (record.Record, bool) {
	for _, r := range recs {
		if r.Transport == transport && r.PeerPort == port {
			return r, true
		}
	}
	return record.Record{}, false
}

// With exactly the unit's capabilities, as an unprivileged user, the agent
// attaches and names the owner of both kinds of flow, with its
// executable.
func TestUnitCapabilitiesAttributeFlows(t *testing.T) {
	p := testenv.NewPair(t)
	traffic, tcpClient := ownedFlows(t, p)
	c := startCaptureWithCaps(t, p, unitCaps(t))
	traffic()
	recs := c.stop(t)
	tcp, ok := flowTo(recs, "tcp", 7601)
	if !ok || tcp.PID != tcpClient.PID() || tcp.Comm != tcpClient.Name || tcp.Exe == "" {
		t.Errorf("TCP flow opened before the start: %+v; want pid %d comm %s and an exe", tcp, tcpClient.PID(), tcpClient.Name)
	}
	udp, ok := flowTo(recs, "udp", 7602)
	if !ok || udp.Comm != "tf-udp-late" || udp.PID == 0 || udp.Exe == "" || udp.PacketsSent != 10 {
		t.Errorf("UDP flow: %+v; want comm tf-udp-late, a pid, an exe and 10 packets sent", udp)
	}
}

// Every capability of the unit is needed: without one of the first three
// the agent refuses to start and names it; without SYS_PTRACE or
// DAC_READ_SEARCH it cannot read /proc/PID/fd of other users' processes,
// so sockets that existed before it started have no owner.
func TestEachUnitCapabilityIsNeeded(t *testing.T) {
	for _, missing := range unitCaps(t) {
		t.Run(missing, func(t *testing.T) {
			caps := slices.DeleteFunc(unitCaps(t), func(c string) bool { return c == missing })
			p := testenv.NewPair(t)
			traffic, _ := ownedFlows(t, p)
			c := startCaptureWithCaps(t, p, caps)
			switch missing {
			case "CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN":
				<-c.exited
				if c.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(c.stderr.String(), "missing privileges: "+missing) {
					t.Errorf("without %s: exit %d, stderr %q; want exit 1 naming it", missing, c.cmd.ProcessState.ExitCode(), c.stderr.String())
				}
				return
			}
			traffic()
			recs := c.stop(t)
			tcp, _ := flowTo(recs, "tcp", 7601)
			udp, _ := flowTo(recs, "udp", 7602)
			switch missing {
			case "CAP_SYS_PTRACE":
				// Processes started while the agent runs are named by the
				// kernel's exec event; older ones only through /proc.
				if tcp.PID != 0 || tcp.Exe != "" {
					t.Errorf("without %s the early TCP flow still has an owner: %+v", missing, tcp)
				}
				if udp.PID == 0 || udp.Exe == "" {
					t.Errorf("without %s the UDP flow lost its owner too: %+v", missing, udp)
				}
			case "CAP_DAC_READ_SEARCH":
				if tcp.PID != 0 {
					t.Errorf("without %s the early TCP flow still has an owner: %+v", missing, tcp)
				}
				if udp.PID == 0 {
					t.Errorf("without %s the UDP flow lost its owner too: %+v", missing, udp)
				}
			default:
				t.Errorf("%s is in the unit but no test says why it is needed", missing)
			}
		})
	}
}
