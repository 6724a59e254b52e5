package analysis

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// A flow's compact key gives its FlowID back as it was, for every kind of
// address an observation carries, and tells flows apart as FlowIDs do.
func TestFlowKeyKeepsTheFlowID(t *testing.T) {
	ap := netip.MustParseAddrPort
	ids := []observe.FlowID{
		{Netns: 7, Transport: observe.UDP, Local: ap("10.0.0.1:50000"), Peer: ap("52.112.0.9:3478")},
		{Netns: 7, Transport: observe.UDP, Local: ap("[::ffff:10.0.0.1]:50000"), Peer: ap("[::ffff:52.112.0.9]:3478")},
		{Netns: 7, Transport: observe.TCP, Local: ap("[2001:db8::1]:40000"), Peer: ap("[2603:1063::9]:443")},
		{Netns: 8, Transport: observe.TCP, Local: ap("[2001:db8::1]:40000"), Peer: ap("[2603:1063::9]:443")},
		{Netns: 0, Transport: observe.UDP, Local: ap("0.0.0.0:53"), Peer: ap("[::]:0")},
		{Transport: observe.UDP, Local: netip.AddrPortFrom(netip.Addr{}, 9)},
	}
	keys := map[flowKey]observe.FlowID{}
	for _, id := range ids {
		k := keyOf(id)
		if got := k.id(); got != id {
			t.Errorf("%+v came back as %+v", id, got)
		}
		if other, dup := keys[k]; dup {
			t.Errorf("%+v and %+v have one key", id, other)
		}
		keys[k] = id
	}
	if n := unsafe.Sizeof(flowKey{}); n > 48 {
		t.Errorf("a flow key takes %d bytes, want at most 48", n)
	}
}
