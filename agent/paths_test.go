package agent

import (
	"net/netip"
	"testing"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// A flow id turns back into the kernel key it came from, both families.
func TestFlowKeyOfUndoesFlowIDOf(t *testing.T) {
	for _, id := range []observe.FlowID{
		{Netns: 4026531840, Transport: observe.UDP, Local: netip.MustParseAddrPort("10.0.0.2:50000"), Peer: netip.MustParseAddrPort("52.112.65.10:3479")},
		{Netns: 7, Transport: observe.TCP, Local: netip.MustParseAddrPort("[fd99::2]:40100"), Peer: netip.MustParseAddrPort("[2603:1063:4::3]:443")},
	} {
		if got := observe.FlowIDOf(flowKeyOf(id)); got != id {
			t.Errorf("%v came back as %v", id, got)
		}
	}
}
