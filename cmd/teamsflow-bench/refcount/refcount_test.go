package refcount

import (
	"net"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
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
	frame := udpFrame(t, 40000)
	for range 5 {
		ret, err := c.Program().Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if int32(ret) != -1 {
			t.Fatalf("returned %d, want TCX_NEXT (-1)", int32(ret))
		}
	}
	if _, err := c.Program().Run(&ebpf.RunOptions{Data: udpFrame(t, 40001)}); err != nil {
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

func udpFrame(t *testing.T, sport layers.UDPPort) []byte {
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}},
		&layers.UDP{SrcPort: sport, DstPort: 9},
		gopacket.Payload(make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
