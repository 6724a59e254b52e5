package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A Snapshot lists a flow when it is new or moved (counts, closed), not
// while it sits unchanged, and says so (OnlyChanged) to the pipeline.
func TestSnapshotListsOnlyChangedFlows(t *testing.T) {
	p := testenv.NewPair(t)
	a, err := Start(Config{Netns: []string{p.Client.Path()}, PollInterval: 100 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	addr := fmt.Sprintf("%s:%d", p.ServerIP4, 7032)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", addr, "3")
	client := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", addr, "3", "100", "connect", "wait", "1500")
	client.Go()
	ns := netnsCookie(t, p.Client)
	deadline := time.Now().Add(3 * time.Second)
	for {
		snap := a.Snapshot()
		if !snap.OnlyChanged {
			t.Fatal("the snapshot does not say it holds only changed flows")
		}
		if f, ok := flowTo(snap, ns, 7032); ok && f.Sent.Packets == 3 && f.Recv.Packets == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flow's three exchanges were not seen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f, ok := flowTo(a.Snapshot(), ns, 7032); ok {
		t.Fatalf("an unchanged running flow is listed again: %+v", f)
	}
	client.Wait(t)
	if f, ok := flowTo(a.Snapshot(), ns, 7032); !ok || !f.Closed || f.Sent.Packets != 3 {
		t.Fatalf("the closed flow: %+v (listed %v), want it closed with its 3 packets", f, ok)
	}
}

func flowTo(s observe.Snapshot, netns uint64, peerPort uint16) (observe.Flow, bool) {
	for _, f := range s.Flows {
		if f.ID.Netns == netns && f.ID.Peer.Port() == peerPort {
			return f, true
		}
	}
	return observe.Flow{}, false
}

// The agent's own reads of the flow map stay out of the way of a reader
// that takes a Snapshot every poll interval (the daemon), and come back
// when that reader stops.
func TestPollLoopYieldsToSnapshots(t *testing.T) {
	const interval = 100 * time.Millisecond
	a, err := Start(Config{Netns: []string{testenv.NewPair(t).Client.Path()}, PollInterval: interval,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := a.polls.Load()
	for range 20 {
		<-tick.C
		a.Snapshot()
	}
	if n := a.polls.Load() - start; n > 22 {
		t.Errorf("%d reads of the flow map for 20 snapshots, want at most 22", n)
	}
	tick.Stop()
	start = a.polls.Load()
	time.Sleep(20 * interval)
	if n := a.polls.Load() - start; n < 15 || n > 21 {
		t.Errorf("%d reads of the flow map by the agent alone over 20 poll intervals, want about 20", n)
	}
}
