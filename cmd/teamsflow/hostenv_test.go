package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// Where users run the agent: inside `ip netns exec` (which remounts /sys,
// hiding the cgroup hierarchy) and in a container with a cgroup namespace
// of its own (whose visible cgroup root is the container's). Either way the
// socket hooks must reach the host's cgroup root and name the owners of
// sockets of processes outside.

// checkOwnedByPeer asserts the capture named the peer as the owner of its
// flow, through the socket hooks (not a scan of /proc).
func checkOwnedByPeer(t *testing.T, out string, peer *testenv.Peer) {
	t.Helper()
	var mine []record.Record
	for _, r := range parseRecords(t, out) {
		if r.PID == peer.PID() {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		t.Fatalf("no record owned by the peer %s (pid %d):\n%s", peer.Name, peer.PID(), out)
	}
	for _, r := range mine {
		if r.Comm != peer.Name || r.OwnerSource != "socket" {
			t.Errorf("peer's flow %s:%d: comm %q owner_source %q, want %q from the socket hooks",
				r.LocalAddr, r.LocalPort, r.Comm, r.OwnerSource, peer.Name)
		}
	}
}

func TestCaptureInsideIPNetnsExec(t *testing.T) {
	p := testenv.NewPair(t)
	cmd, stdout, stderr := startCaptureCmd(t, p.Client.Command(binary, "capture", "--json", "--duration", "4s"))
	peer := udpExchange(t, p, 47301, 30)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture in `ip netns exec`: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "no cgroup v2 hierarchy is mounted here") {
		t.Errorf("the log does not say why cgroup2 was mounted privately:\n%s", stderr)
	}
	checkOwnedByPeer(t, stdout.String(), peer)
}

// TestCaptureInCgroupNamespace runs the capture as a container runtime
// would: in a cgroup of its own, then in new mount and cgroup namespaces
// with cgroup2 mounted afresh, so the visible hierarchy's root is that
// cgroup. The peers run outside it, in the host's root cgroup.
func TestCaptureInCgroupNamespace(t *testing.T) {
	p := testenv.NewPair(t)
	hostRoot, err := bpf.CgroupV2Root()
	if err != nil {
		t.Skipf("this test needs a visible cgroup v2 hierarchy to make a container's cgroup in: %v", err)
	}
	cg := filepath.Join(hostRoot, fmt.Sprintf("teamsflow-test-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCgroup(t, cg) })
	inner := fmt.Sprintf("umount %[1]s && mount -t cgroup2 cgroup2 %[1]s && exec %[2]s capture --json --duration 4s --netns %[3]s --interfaces %[4]s",
		hostRoot, binary, p.Client.Path(), p.ClientIface)
	outer := fmt.Sprintf(`echo $$ > %s/cgroup.procs && exec unshare --mount --cgroup --propagation private sh -c '%s'`, cg, inner)
	cmd, stdout, stderr := startCaptureCmd(t, exec.Command("sh", "-c", outer))
	if got := cgroupOf(t, cmd.Process.Pid); got != "0::/"+filepath.Base(cg) {
		t.Fatalf("the capture runs in cgroup %q, want the test's own", got)
	}
	peer := udpExchange(t, p, 47302, 30)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture in a cgroup namespace: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "in a cgroup namespace of its own") {
		t.Errorf("the log does not say why cgroup2 was mounted privately:\n%s", stderr)
	}
	checkOwnedByPeer(t, stdout.String(), peer)
}

// cgroupOf reads a process's cgroup v2 path as the host sees it.
func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "0::") {
			return line
		}
	}
	return ""
}

// removeCgroup removes the test's cgroup once its processes are gone.
func removeCgroup(t *testing.T, cg string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(cg)
		if err == nil || os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("removing the test's cgroup %s: %v", cg, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
