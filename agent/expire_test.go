package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A flow silent for longer than the idle timeout leaves the kernel map at
// the next poll and the table at the next Snapshot, which names it as
// gone; memory stays bounded in a long-running agent.
func TestExpireForgetsIdleFlows(t *testing.T) {
	p := testenv.NewPair(t)
	a, err := Start(Config{Netns: []string{p.Client.Path()}, PollInterval: 100 * time.Millisecond,
		IdleTimeout: time.Second, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	addr := fmt.Sprintf("%s:%d", p.ServerIP4, 7031)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", addr, "10")
	testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", addr, "10", "100", "connect", "nowait", "0").Wait(t)
	ns := netnsCookie(t, p.Client)
	if !hasFlowTo(records(a), ns, 7031) {
		t.Fatal("the UDP flow was not seen")
	}
	if snap := a.Snapshot(); goneTo(snap, ns, 7031) {
		t.Fatal("a flow that just ran was expired")
	}
	time.Sleep(1500 * time.Millisecond)
	if err := a.Poll(); err != nil {
		t.Fatal(err)
	}
	if snap := a.Snapshot(); !goneTo(snap, ns, 7031) {
		t.Fatalf("the idle flow was not expired: %+v", snap.Gone)
	}
	if hasFlowTo(records(a), ns, 7031) {
		t.Error("the expired flow is still in the records")
	}
}

func goneTo(s observe.Snapshot, netns uint64, peerPort uint16) bool {
	for _, id := range s.Gone {
		if id.Netns == netns && id.Peer.Port() == peerPort {
			return true
		}
	}
	return false
}

func hasFlowTo(recs []record.Record, netns uint64, peerPort uint16) bool {
	for _, r := range recs {
		if r.Netns == netns && r.PeerPort == peerPort {
			return true
		}
	}
	return false
}
