package bpf

import (
	"github.com/teamsflow/teamsflow/bpf/contract"

	"net"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	ip4A = net.IP{10, 1, 0, 1}
	ip4B = net.IP{10, 1, 0, 2}
	ip6A = net.ParseIP("fd01::1")
	ip6B = net.ParseIP("fd01::2")
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	// Checksums are left zero: the classifier does not read them.
	opts := gopacket.SerializeOptions{FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func eth(typ layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: typ}
}

func ipv4(proto layers.IPProtocol, tos uint8) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: ip4A, DstIP: ip4B, TOS: tos}
}

func ipv6(next layers.IPProtocol, tc uint8) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: ip6A, DstIP: ip6B, TrafficClass: tc}
}

func udp(sport, dport uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
}

func payload(n int) gopacket.Payload { return make(gopacket.Payload, n) }

// flow is the merged map entry the test expects to find.
type flow struct {
	local, peer         netip.Addr
	localPort, peerPort uint16
	proto               uint8
}

func loadForTest(t *testing.T) *Objects {
	t.Helper()
	testenv.RequirePrivileged(t)
	o, err := Load(Config{FlowMapEntries: 1024, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func run(t *testing.T, prog *ebpf.Program, pkt []byte) {
	t.Helper()
	ret, err := prog.Run(&ebpf.RunOptions{Data: pkt})
	if err != nil {
		t.Fatal(err)
	}
	if int32(ret) != -1 {
		t.Fatalf("classifier returned %d, want TC_NEXT (-1): it must never drop or redirect", int32(ret))
	}
}

// dumpFlows reads the whole flow map, merged per flow.
func dumpFlows(t *testing.T, o *Objects) map[flow]FlowStats {
	t.Helper()
	out := map[flow]FlowStats{}
	err := o.Flows().Read(func(k FlowKey, v []FlowStats) {
		f := flow{localPort: k.LocalPort, peerPort: k.PeerPort, proto: k.Protocol}
		if k.Family == 4 {
			f.local = netip.AddrFrom4([4]byte(k.LocalAddr[:4]))
			f.peer = netip.AddrFrom4([4]byte(k.PeerAddr[:4]))
		} else {
			f.local = netip.AddrFrom16(k.LocalAddr)
			f.peer = netip.AddrFrom16(k.PeerAddr)
		}
		out[f] = MergeCPUs(v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func counters(t *testing.T, o *Objects) [contract.NumCounters]uint64 {
	t.Helper()
	c, err := o.ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
