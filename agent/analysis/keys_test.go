package analysis

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// Flows of one process to one peer share one copy of each key, and the
// keys read as they always did.
func TestFlowsShareTheirKeys(t *testing.T) {
	var keys keyStrings
	owner := &observe.Owner{Process: observe.Process{PID: 42, Comm: "app"}}
	flowTo := func(local string, o *observe.Owner) *flowState {
		id := observe.FlowID{Netns: 7, Transport: observe.UDP, Local: netip.MustParseAddrPort(local),
			Peer: netip.MustParseAddrPort("52.112.1.2:3478")}
		return newFlowState(observe.Flow{ID: id, Owner: o}, time.Unix(1, 0), &keys)
	}
	a, b := flowTo("10.0.0.1:5000", owner), flowTo("10.0.0.1:5001", owner)
	if a.socketKey != "p7/42" || a.callKey != "p7/42" || a.peerKey != "p7/42>52.112.1.2" || a.peerNet != "p7/42@52.112.0.0/16" {
		t.Errorf("keys %q %q %q %q", a.socketKey, a.callKey, a.peerKey, a.peerNet)
	}
	for _, pair := range [][2]string{{a.socketKey, b.socketKey}, {a.peerKey, b.peerKey}, {a.peerNet, b.peerNet}} {
		if unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
			t.Errorf("%q is not shared", pair[0])
		}
	}
	c := flowTo("10.0.0.1:5002", nil)
	if c.socketKey != "s7/17/10.0.0.1:5002" || c.callKey != "h7/10.0.0.1" || c.peerKey != "h7/10.0.0.1>52.112.1.2" {
		t.Errorf("keys without owner %q %q %q", c.socketKey, c.callKey, c.peerKey)
	}
}
