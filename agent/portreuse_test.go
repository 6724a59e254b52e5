package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv"
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
		flows, err := a.objs.Flows().Merged()
		if err != nil {
			t.Fatal(err)
		}
		present := false
		for k := range flows {
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

// The same, but the second program starts before the agent has read the
// kernel map again: the kernel entry itself must name the new sender,
// since a packet after an idle spell looks for the flow's socket again.
func TestReusedPortWithinOnePoll(t *testing.T) {
	p := testenv.NewPair(t)
	a, err := Start(Config{Netns: []string{p.Client.Path()}, PollInterval: time.Hour, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ns := netnsCookie(t, p.Client)
	sink := fmt.Sprintf("%s:7463", p.ServerIP4)
	udpSink(t, p.Server, sink)
	local := fmt.Sprintf("%s:7462", p.ClientIP4)
	// Both senders on one CPU, so the second finds the first's per-CPU
	// slot of the entry rather than an empty one of its own.
	testenv.OnOneCPU(t)

	first := testenv.StartPeer(t, p.Client, "tf-poll-first", "fault-udp-from", local, sink, "5", "100")
	first.Wait(t)
	if owner := kernelOwner(t, a, ns, 7462); owner != uint32(first.PID()) {
		t.Fatalf("first use: kernel entry owner %d, want %d", owner, first.PID())
	}
	time.Sleep(300 * time.Millisecond) // an idle spell longer than 25 jiffies at any HZ >= 100
	second := testenv.StartPeer(t, p.Client, "tf-poll-second", "fault-udp-from", local, sink, "7", "300")
	second.Wait(t)
	if owner := kernelOwner(t, a, ns, 7462); owner != uint32(second.PID()) {
		t.Errorf("port used again within one poll: kernel entry owner %d, want the process sending now (%d), not the first (%d)",
			owner, second.PID(), first.PID())
	}
}

// kernelOwner reads the flow with the local port straight from the kernel
// map, all CPUs merged, and returns its owner's pid.
func kernelOwner(t *testing.T, a *Agent, ns uint64, port uint16) uint32 {
	t.Helper()
	flows, err := a.objs.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range flows {
		if k.Netns == ns && k.LocalPort == port {
			return v.Owner.Tgid
		}
	}
	t.Fatalf("no kernel entry for local port %d", port)
	return 0
}
