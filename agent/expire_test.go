package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A flow silent for longer than the idle timeout leaves the kernel map at
// the next poll and the table at the next Expire, which hands out its
// final record; memory stays bounded in a long-running agent.
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
	if !hasFlowTo(a.Records(), ns, 7031) {
		t.Fatal("the UDP flow was not seen")
	}
	if got := a.Expire(time.Now()); hasFlowTo(got, ns, 7031) {
		t.Fatal("a flow that just ran was expired")
	}
	time.Sleep(1500 * time.Millisecond)
	if err := a.Poll(); err != nil {
		t.Fatal(err)
	}
	gone := a.Expire(time.Now())
	if !hasFlowTo(gone, ns, 7031) {
		t.Fatalf("the idle flow was not expired: %+v", gone)
	}
	for _, r := range gone {
		if r.Netns == ns && r.PeerPort == 7031 && (r.EndReason != "idle" && r.EndReason != "closed" || r.PacketsSent != 10) {
			t.Errorf("final record %+v; want end_reason idle/closed and 10 packets sent", r)
		}
	}
	if hasFlowTo(a.Records(), ns, 7031) {
		t.Error("the expired flow is still in the records")
	}
}

func hasFlowTo(recs []record.Record, netns uint64, peerPort uint16) bool {
	for _, r := range recs {
		if r.Netns == netns && r.PeerPort == peerPort {
			return true
		}
	}
	return false
}
