package refcount

import (
	"net/netip"
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// The reference counter counts what it is measured for: every packet of a
// UDP flow, in one entry, and lets the packet through.
func TestCountsEveryPacketOfAFlow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := udpFrame(40000)
	for range 5 {
		ret, err := c.Program().Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if int32(ret) != -1 {
			t.Fatalf("returned %d, want TCX_NEXT (-1)", int32(ret))
		}
	}
	if _, err := c.Program().Run(&ebpf.RunOptions{Data: udpFrame(40001)}); err != nil {
		t.Fatal(err)
	}
	var k refRefKey
	var v refRefCount
	counts := map[uint16]refRefCount{}
	for it := c.objs.RefFlows.Iterate(); it.Next(&k, &v); {
		counts[k.Sport] = v
	}
	port := func(p uint16) uint16 { return p>>8 | p<<8 } // network order, read as host order
	if len(counts) != 2 || counts[port(40000)].Packets != 5 || counts[port(40001)].Packets != 1 {
		t.Fatalf("counted %+v, want 5 packets on source port 40000 and 1 on 40001", counts)
	}
	if b := counts[port(40000)].Bytes; b != 5*uint64(len(frame)) {
		t.Fatalf("counted %d bytes, want %d", b, 5*len(frame))
	}
}

// udpFrame is a UDP frame from source port sport with 64 bytes of payload.
func udpFrame(sport uint16) []byte {
	return pkt.UDP(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), sport), netip.MustParseAddrPort("10.0.0.2:9"), make([]byte, 64))
}
