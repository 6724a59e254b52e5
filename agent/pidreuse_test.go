package agent

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// startPeerAtPID starts a peer that gets the given pid: the kernel hands
// out last_pid+1 next, so ns_last_pid is set just before the fork. Another
// process on the machine may take the pid first; that peer is killed and
// the next try made.
func startPeerAtPID(t *testing.T, ns netns.Named, pid uint32, name, mode string, args ...string) *testenv.Peer {
	t.Helper()
	for try := 0; try < 200; try++ {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(fmt.Sprint(pid-1)), 0); err != nil {
			t.Fatalf("setting the next pid: %v", err)
		}
		p := testenv.StartPeer(t, ns, name, mode, args...)
		if p.PID() == pid {
			t.Logf("pid %d reused after %d tries", pid, try+1)
			return p
		}
		_ = p.Cmd.Process.Kill()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d could not be had again", pid)
	return nil
}

// A process sends and exits; another process, another program, gets its
// pid and sends on a flow of its own. Each flow keeps its own process: the
// kernel records the owner with its start time, and the process cache is
// keyed by pid and start time, so the dead process's name, executable and
// command line never pass to the living one, nor back.
func TestReusedPIDNeverInherits(t *testing.T) {
	p := testenv.NewPair(t)
	a := startAgent(t, p.Client.Path())
	ns := netnsCookie(t, p.Client)
	for _, port := range []int{7401, 7402} {
		testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", fmt.Sprintf("%s:%d", p.ServerIP4, port), "5")
	}
	first := testenv.StartPeer(t, p.Client, "tf-pid-first", "udp-client", fmt.Sprintf("%s:7401", p.ServerIP4), "5", "100", "connect", "nowait", "0")
	first.Wait(t)
	pid := first.PID()
	second := startPeerAtPID(t, p.Client, pid, "tf-pid-second", "udp-client", fmt.Sprintf("%s:7402", p.ServerIP4), "5", "300", "connect", "nowait", "3000")
	second.Expect(t, "done") // alive from here on: /proc/PID is the second process

	old := findFlow(t, a, ns, "udp", port(t, first.Ready), 7401)
	cur := findFlow(t, a, ns, "udp", port(t, second.Ready), 7402)
	assertProcess(t, "old flow", old, pid, first.Name)
	assertProcess(t, "new flow", cur, pid, second.Name)
	if old.BytesSent != 5*128 || cur.BytesSent != 5*328 {
		t.Errorf("bytes sent %d and %d, want %d and %d", old.BytesSent, cur.BytesSent, 5*128, 5*328)
	}
	owners := ownersByPeerPort(a, ns)
	o1, o2 := owners[7401], owners[7402]
	if o1.StartNs == 0 || o1.StartNs == o2.StartNs {
		t.Fatalf("start times %d and %d: the two processes are not told apart", o1.StartNs, o2.StartNs)
	}
	assertCacheKeyed(t, a.procs, pid, o1.StartNs, o2.StartNs, first.Name, second.Name)
	// The analysis pipeline's view: name and command line per flow.
	want := map[uint16]string{7401: first.Name, 7402: second.Name}
	for _, o := range a.Snapshot().Flows {
		name := want[o.ID.Peer.Port()]
		if o.ID.Netns != ns || name == "" {
			continue
		}
		if o.Owner == nil || o.Owner.PID != pid || o.Owner.Comm != name ||
			len(o.Owner.Cmdline) == 0 || !strings.HasSuffix(o.Owner.Cmdline[0], "/"+name) {
			t.Errorf("snapshot owner of the flow to %d: %+v, want pid %d %s", o.ID.Peer.Port(), o.Owner, pid, name)
		}
	}
}

// assertProcess checks a flow's pid, comm and executable (the exec event
// names the link the peer was started through).
func assertProcess(t *testing.T, what string, r record.Record, pid uint32, name string) {
	t.Helper()
	if r.PID != pid || r.Comm != name || !strings.HasSuffix(r.Exe, "/"+name) {
		t.Errorf("%s: pid %d comm %q exe %q (%s), want pid %d %s", what, r.PID, r.Comm, r.Exe, r.OwnerSource, pid, name)
	}
}

func ownersByPeerPort(a *Agent, ns uint64) map[uint16]flow.Owner {
	out := map[uint16]flow.Owner{}
	for _, f := range a.table.Snapshot() {
		if f.Key.Netns == ns {
			out[f.Key.PeerPort] = f.Owner
		}
	}
	return out
}

// assertCacheKeyed shows both processes side by side in the agent's cache
// under one pid, told apart by their exact start times even within one
// tick; and that a fresh cache, which can only read /proc, refuses the dead
// process's key rather than describing the living one, when their ticks
// differ (within one tick /proc cannot tell them apart).
func assertCacheKeyed(t *testing.T, c *proc.Cache, pid uint32, oldNs, newNs uint64, oldName, newName string) {
	t.Helper()
	oldKey, newKey := proc.KeyFromBootNs(pid, oldNs), proc.KeyFromBootNs(pid, newNs)
	for key, name := range map[proc.Key]string{oldKey: oldName, newKey: newName} {
		info, ok := c.Lookup(key)
		if !ok || info.Comm != name || !strings.HasSuffix(info.Exe, "/"+name) {
			t.Errorf("agent's cache for %+v: %v %q %q, want %s", key, ok, info.Comm, info.Exe, name)
		}
	}
	if oldKey.StartTicks == newKey.StartTicks {
		t.Logf("both processes started in tick %d, %d µs apart", oldKey.StartTicks, (newNs-oldNs)/1000)
		return
	}
	fresh := proc.NewCache(time.Minute)
	if info, ok := fresh.Lookup(oldKey); ok {
		t.Errorf("a fresh cache gave the dead process's key %+v the living %q", oldKey, info.Comm)
	}
	if info, ok := fresh.Lookup(newKey); !ok || info.Comm != newName {
		t.Errorf("a fresh cache for the living process %+v: %v %q", newKey, ok, info.Comm)
	}
}
