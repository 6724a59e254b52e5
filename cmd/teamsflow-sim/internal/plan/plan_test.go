package plan

import (
	"strconv"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

func build(t *testing.T, name string) Call {
	t.Helper()
	s, err := scenario.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := Build(s, 2*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	return calls[0]
}

func TestQoSLayout(t *testing.T) {
	c := build(t, "desktop-qos")
	want := []struct{ port, dscp, peer int }{{50000, 46, 3479}, {50020, 34, 3480}, {50040, 18, 3481}}
	if len(c.Transports) != 3 {
		t.Fatalf("%d transports, want one per stream", len(c.Transports))
	}
	for i, w := range want {
		tr := c.Transports[i]
		if tr.Ports[0] != w.port || len(tr.Ports) != 20 || tr.DSCP != w.dscp || tr.Peer != "52.112.65.10:"+itoa(w.peer) {
			t.Errorf("transport %d: ports %v dscp %d peer %s", i, tr.Ports, tr.DSCP, tr.Peer)
		}
		if len(tr.Candidates) != 3 || tr.Streams[0].Duration != 2*time.Second {
			t.Errorf("transport %d: candidates %v duration %v", i, tr.Candidates, tr.Streams[0].Duration)
		}
	}
}

func TestBundleAndRelayLayout(t *testing.T) {
	b := build(t, "browser-bundle")
	if len(b.Transports) != 1 || len(b.Transports[0].Streams) != 3 || b.Transports[0].DSCP != 0 || len(b.Transports[0].Ports) != 0 {
		t.Errorf("bundle layout: %+v", b.Transports)
	}
	r := build(t, "relay")
	for i, port := range []int{3479, 3480, 3481} {
		if r.Transports[i].RelayPort != port {
			t.Errorf("relay transport %d uses relay port %d, want %d", i, r.Transports[i].RelayPort, port)
		}
	}
	z := build(t, "zoom-negative")
	if z.App != "" || z.Relay != nil || len(z.Transports[0].Candidates) != 0 || z.Transports[0].Peer != "170.114.10.20:8801" {
		t.Errorf("zoom plan: app %q relay %v transport %+v", z.App, z.Relay, z.Transports[0])
	}
}

func TestIdentifiersAreUnique(t *testing.T) {
	c := build(t, "desktop-qos")
	seen := map[uint32]bool{}
	for _, tr := range c.Transports {
		if len(tr.Keys.TxKey) != 16 || len(tr.Keys.TxSalt) != 14 || string(tr.Keys.TxKey) == string(tr.Keys.RxKey) {
			t.Errorf("bad SRTP keys %+v", tr.Keys)
		}
		for _, s := range tr.Streams {
			if seen[s.SSRC] || seen[s.PeerSSRC] {
				t.Errorf("SSRC reused: %d/%d", s.SSRC, s.PeerSSRC)
			}
			seen[s.SSRC], seen[s.PeerSSRC] = true, true
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// --duration stretches the streams that ran to the call's end and keeps
// the end of those that stopped earlier, cut at the new end.
func TestDurationKeepsEarlyEnds(t *testing.T) {
	s, err := scenario.Load("share-late") // 24 s; the share runs 6-18 s
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d               time.Duration
		audio, shareDur time.Duration
	}{{40 * time.Second, 40 * time.Second, 12 * time.Second}, {10 * time.Second, 10 * time.Second, 4 * time.Second}, {5 * time.Second, 5 * time.Second, 0}} {
		calls, err := Build(s, c.d, "")
		if err != nil {
			t.Fatal(err)
		}
		tr := calls[0].Transports
		if tr[0].Streams[0].Duration != c.audio || tr[2].Streams[0].Duration != c.shareDur || calls[0].Duration != c.d {
			t.Errorf("--duration %v: audio %v (want %v), share %v (want %v)", c.d, tr[0].Streams[0].Duration, c.audio, tr[2].Streams[0].Duration, c.shareDur)
		}
	}
}

func TestDirectAfterReachesThePlan(t *testing.T) {
	c := build(t, "relay-to-direct")
	if c.DirectAfter != 8*time.Second || len(c.Transports) != 1 || c.Transports[0].RelayPort != 3478 {
		t.Errorf("direct_after %v, %d transports, relay port %d: want 8s, one BUNDLEd transport via 3478", c.DirectAfter, len(c.Transports), c.Transports[0].RelayPort)
	}
}
