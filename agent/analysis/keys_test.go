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
	if *a.keys != (flowKeys{"p7/42", "p7/42", "p7/42>52.112.1.2", "p7/42@52.112.0.0/16"}) {
		t.Errorf("keys %+v", *a.keys)
	}
	if a.keys != b.keys {
		t.Error("the flows of one process to one peer do not share their keys")
	}
	c := flowTo("10.0.0.1:5002", nil)
	if c.keys.socket != "s7/17/10.0.0.1:5002" || c.keys.call != "h7/10.0.0.1" || c.keys.peer != "h7/10.0.0.1>52.112.1.2" {
		t.Errorf("keys without owner %+v", *c.keys)
	}
	if unsafe.StringData(c.keys.peerNet) != unsafe.StringData(flowTo("10.0.0.1:5003", nil).keys.peerNet) {
		t.Error("the flows of one host to one network do not share their key strings")
	}
}
