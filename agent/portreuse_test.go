package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// A process sends from a fixed port and exits; another program then sends
// from the same port to the same peer (a media client's fixed port, used
// again): the flow's owner is the process sending now, not the one that
// used the port before.
func TestReusedPortTakesTheNewOwner(t *testing.T) {
	p := testenv.NewPair(t)
	a := startAgent(t, p.Client.Path())
	ns := netnsCookie(t, p.Client)
	sink := fmt.Sprintf("%s:7461", p.ServerIP4)
	udpSink(t, p.Server, sink)
	local := fmt.Sprintf("%s:7460", p.ClientIP4)

	first := testenv.StartPeer(t, p.Client, "tf-port-first", "fault-udp-from", local, sink, "5", "100")
	first.Wait(t)
	if r := findFlow(t, a, ns, "udp", 7460, 7461); r.PID != first.PID() || r.Comm != first.Name {
		t.Fatalf("first use of the port: owner pid %d %q, want %d %s", r.PID, r.Comm, first.PID(), first.Name)
	}
	waitKernelEntryGone(t, a, ns)

	second := testenv.StartPeer(t, p.Client, "tf-port-second", "fault-udp-from", local, sink, "7", "300")
	second.Wait(t)
	r := findFlow(t, a, ns, "udp", 7460, 7461)
	if r.PID != second.PID() || r.Comm != second.Name {
		t.Errorf("port used again: owner pid %d %q (%s), want the process sending now: %d %s",
			r.PID, r.Comm, r.OwnerSource, second.PID(), second.Name)
	}
	// One flow per address pair: both uses are counted in it.
	if want := uint64(5*128 + 7*328); r.BytesSent != want || r.PacketsSent != 12 {
		t.Errorf("sent %d packets, %d bytes; want 12, %d", r.PacketsSent, r.BytesSent, want)
	}
}

// waitKernelEntryGone waits until the agent has taken the closed flow out
// of the kernel map (the first poll after its socket's close).
func waitKernelEntryGone(t *testing.T, a *Agent, ns uint64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var k bpf.FlowKey
		var v []bpf.FlowStats
		present := false
		it := a.objs.Flows().Iterate()
		for it.Next(&k, &v) {
			present = present || (k.Netns == ns && k.LocalPort == 7460)
		}
		if !present {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed flow is still in the kernel map after 3 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
