//go:build linux

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

// TestCaptureInsideIPNetnsExec also runs where no directory can be made
// for the private mount (TMPDIR missing, as with a read-only root): the
// mount then covers an existing directory for its own thread only.
func TestCaptureInsideIPNetnsExec(t *testing.T) {
	p := testenv.NewPair(t)
	for i, tmpdir := range []string{os.TempDir(), "/nonexistent-teamsflow-tmp"} {
		t.Run("TMPDIR="+tmpdir, func(t *testing.T) {
			capture := p.Client.Command(binary, "capture", "--json", "--duration", "4s")
			capture.Env = append(os.Environ(), "TMPDIR="+tmpdir)
			cmd, stdout, stderr := startCaptureCmd(t, capture)
			peer := udpExchange(t, p, 47301+10*i, 30)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("capture in `ip netns exec`: %v\n%s", err, stderr)
			}
			if !strings.Contains(stderr.String(), "no cgroup v2 hierarchy is mounted here") {
				t.Errorf("the log does not say why cgroup2 was mounted privately:\n%s", stderr)
			}
			checkOwnedByPeer(t, stdout.String(), peer)
		})
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "teamsflow-cgroup2-*")); len(left) > 0 {
		t.Errorf("mount points left behind: %v", left)
	}
}

// TestCaptureInCgroupNamespace runs the capture as a container runtime
// would: in a cgroup of its own, then in new mount and cgroup namespaces
// with cgroup2 mounted afresh, so the visible hierarchy's root is that
// cgroup. The peers run outside it, in the host's root cgroup. Three
// shapes of container: a bare one (the agent mounts cgroup2 itself from
// the host's cgroup namespace), one with the node's hierarchy mounted in
// (the DaemonSet's hostPath), and one in a PID namespace whose PID 1 sees
// the host's mounts (hostPID, without the hostPath).
func TestCaptureInCgroupNamespace(t *testing.T) {
	p := testenv.NewPair(t)
	hostRoot, err := bpf.CgroupV2Root()
	if err != nil {
		t.Skipf("this test needs a visible cgroup v2 hierarchy to make a container's cgroup in: %v", err)
	}
	nodeMount := t.TempDir()
	// before runs in the container before it mounts its own cgroup2; wrap
	// (a format) runs the container.
	shapes := []struct{ name, before, wrap, why string }{
		{"bare", "", "%s", "mounted cgroup2 privately at the host's root"},
		{"node-hierarchy-mounted", "mount --bind " + hostRoot + " " + nodeMount + " && ", "%s",
			"cgroup2 mounted at " + nodeMount + " is the hierarchy's root"},
		// PID 1 stays outside the container, in the host's namespaces.
		{"pid1-of-the-host", "", "unshare --pid --fork --mount-proc sh -c \"%s; exit \\$?\"", "found the hierarchy's root in PID 1's mounts"},
	}
	for i, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			cg := filepath.Join(hostRoot, fmt.Sprintf("teamsflow-test-%d-%d", os.Getpid(), i))
			if err := os.Mkdir(cg, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { removeCgroup(t, cg) })
			// The container: its own cgroup, cgroup namespace and cgroup2 mount.
			container := fmt.Sprintf("unshare --mount --cgroup --propagation private sh -c '%sumount %s && mount -t cgroup2 cgroup2 %[2]s && exec %s capture --json --duration 4s --netns %s --interfaces %s'",
				shape.before, hostRoot, binary, p.Client.Path(), p.ClientIface)
			script := fmt.Sprintf("echo $$ > %s/cgroup.procs && exec "+shape.wrap, cg, container)
			cmd, stdout, stderr := startCaptureCmd(t, exec.Command("sh", "-c", script))
			if got := cgroupsOf(t, cmd.Process.Pid); !strings.Contains(got, "0::/"+filepath.Base(cg)) {
				t.Fatalf("the capture runs in cgroup %q, want the test's own", got)
			}
			peer := udpExchange(t, p, 47302+i, 30)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("capture in a cgroup namespace: %v\n%s", err, stderr)
			}
			if log := stderr.String(); !strings.Contains(log, shape.why) {
				t.Errorf("the log does not say which cgroup root was used (%q) and why:\n%s", shape.why, log)
			}
			checkOwnedByPeer(t, stdout.String(), peer)
		})
	}
}

// cgroupsOf reads the cgroup v2 paths of a process and its children as
// the host sees them (with a PID namespace, the capture is a grandchild).
func cgroupsOf(t *testing.T, pid int) string {
	t.Helper()
	raw, err := exec.Command("sh", "-c", fmt.Sprintf("cat /proc/%d/cgroup; for c in $(cat /proc/%[1]d/task/*/children); do cat /proc/$c/cgroup; done", pid)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "0::") {
			out = append(out, line)
		}
	}
	return strings.Join(out, " ")
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
