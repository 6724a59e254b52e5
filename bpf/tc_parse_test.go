package bpf

import (
	"github.com/teamsflow/teamsflow/bpf/contract"

	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

const (
	protoTCP = 6
	protoUDP = 17
)

var (
	a4, b4 = netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
	a6, b6 = netip.MustParseAddr("fd01::1"), netip.MustParseAddr("fd01::2")
)

// want is one flow the classifier must have recorded after a case.
type want struct {
	f       flow
	dir     int // 0 egress, 1 ingress
	packets uint64
	bytes   uint64
	dscp    uint8
	flags   uint8
}

type parseCase struct {
	name     string
	egress   bool
	packets  [][]byte
	want     []want // exactly these flows, nothing else
	counters map[contract.Counter]uint64
}

func TestClassifierParsing(t *testing.T) {
	udp4 := func(n int, tos uint8) []byte {
		return serialize(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolUDP, tos), udp(5000, 3478), payload(n))
	}
	cases := []parseCase{
		{name: "ipv4 udp egress", egress: true, packets: [][]byte{udp4(100, 46<<2), udp4(100, 46<<2), udp4(172, 46<<2)},
			want: []want{{f: flow{a4, b4, 5000, 3478, protoUDP}, dir: 0, packets: 3, bytes: 3*28 + 372, dscp: 46}}},
		{name: "ipv4 udp ingress is keyed from the local end", egress: false, packets: [][]byte{udp4(60, 0)},
			want: []want{{f: flow{b4, a4, 3478, 5000, protoUDP}, dir: 1, packets: 1, bytes: 88}}},
		{name: "ipv4 tcp flags are or-ed", egress: true, packets: [][]byte{
			tcp4(t, layers.TCP{SYN: true}, 0), tcp4(t, layers.TCP{ACK: true, PSH: true}, 500)},
			want: []want{{f: flow{a4, b4, 40000, 443, protoTCP}, dir: 0, packets: 2, bytes: 40 + 540, flags: 0x02 | 0x18}}},
		{name: "ipv6 udp with traffic class", egress: true, packets: [][]byte{
			serialize(t, eth(layers.EthernetTypeIPv6), ipv6(layers.IPProtocolUDP, 34<<2), udp(50020, 3480), payload(1000))},
			want: []want{{f: flow{a6, b6, 50020, 3480, protoUDP}, dir: 0, packets: 1, bytes: 1048, dscp: 34}}},
		{name: "vlan tag", egress: true, packets: [][]byte{serialize(t, eth(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolUDP, 0), udp(5000, 3478), payload(10))},
			want: []want{{f: flow{a4, b4, 5000, 3478, protoUDP}, dir: 0, packets: 1, bytes: 38}}},
		{name: "double vlan tag (802.1ad)", egress: true, packets: [][]byte{serialize(t, eth(layers.EthernetTypeQinQ),
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 8, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolUDP, 0), udp(5000, 3478), payload(10))},
			want: []want{{f: flow{a4, b4, 5000, 3478, protoUDP}, dir: 0, packets: 1, bytes: 38}}},
		{name: "ipv6 extension headers", egress: true, packets: [][]byte{ipv6WithExt(t, 50040, 3481, 200)},
			want: []want{{f: flow{a6, b6, 50040, 3481, protoUDP}, dir: 0, packets: 1, bytes: 40 + 8 + 16 + 8 + 200}}},
		{name: "ipv4 fragments: first has ports, the rest do not", egress: true, packets: [][]byte{
			frag4(t, 0, true, true), frag4(t, 185, false, false)},
			want: []want{
				{f: flow{a4, b4, 5000, 3478, protoUDP}, dir: 0, packets: 1, bytes: 20 + 8 + 1472},
				{f: flow{a4, b4, 0, 0, protoUDP}, dir: 0, packets: 1, bytes: 20 + 100}},
			counters: map[contract.Counter]uint64{contract.CntIPFragment: 1}},
		{name: "ipv6 fragments", egress: true, packets: [][]byte{frag6(t, 0, true), frag6(t, 1448, false)},
			want: []want{
				{f: flow{a6, b6, 5000, 3478, protoUDP}, dir: 0, packets: 1, bytes: 40 + 8 + 8 + 100},
				{f: flow{a6, b6, 0, 0, protoUDP}, dir: 0, packets: 1, bytes: 40 + 8 + 100}},
			counters: map[contract.Counter]uint64{contract.CntIPFragment: 1}},
		// The kernel's test run refuses an untagged IPv4 frame shorter than
		// an IP header, so the truncated header sits behind a VLAN tag.
		{name: "truncated ipv4 header", egress: true, packets: [][]byte{serialize(t, eth(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolUDP, 0), udp(5000, 3478), payload(100))[:14+4+12]},
			counters: map[contract.Counter]uint64{contract.CntParseShort: 1}},
		{name: "truncated udp header", egress: true, packets: [][]byte{udp4(100, 0)[:14+20+4]},
			counters: map[contract.Counter]uint64{contract.CntParseShort: 1}},
		{name: "truncated ipv6 extension header", egress: true, packets: [][]byte{ipv6WithExt(t, 1, 2, 0)[:14+40+4]},
			counters: map[contract.Counter]uint64{contract.CntParseShort: 1}},
		// Built by hand: gopacket pads Ethernet frames to 60 bytes.
		{name: "truncated vlan tag", egress: true, packets: [][]byte{
			append(append(append([]byte{}, macB...), macA...), 0x81, 0x00, 0, 7)},
			counters: map[contract.Counter]uint64{contract.CntParseShort: 1}},
		{name: "ipv4 header length below 20 is ignored", egress: true, packets: [][]byte{badIHL(udp4(10, 0))}},
		{name: "arp is not ours", egress: true, packets: [][]byte{serialize(t, eth(layers.EthernetTypeARP),
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: macB, DstProtAddress: ip4B})}},
		{name: "icmp is not ours", egress: true, packets: [][]byte{serialize(t, eth(layers.EthernetTypeIPv4),
			ipv4(layers.IPProtocolICMPv4, 0), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, payload(56))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runParseCase(t, tc) })
	}
}

func runParseCase(t *testing.T, tc parseCase) {
	o := loadForTest(t)
	prog := o.TestClassifier(tc.egress)
	for _, p := range tc.packets {
		run(t, prog, p)
	}
	got := dumpFlows(t, o)
	if len(got) != len(tc.want) {
		t.Errorf("got %d flows %v, want %d", len(got), got, len(tc.want))
	}
	for _, w := range tc.want {
		s, ok := got[w.f]
		if !ok {
			t.Errorf("flow %+v missing; have %v", w.f, got)
			continue
		}
		d := s.Dir[w.dir]
		other := s.Dir[1-w.dir]
		if d.Packets != w.packets || d.Bytes != w.bytes || d.Dscp != w.dscp || d.TcpFlags != w.flags {
			t.Errorf("flow %+v: packets=%d bytes=%d dscp=%d flags=%#x, want %d %d %d %#x",
				w.f, d.Packets, d.Bytes, d.Dscp, d.TcpFlags, w.packets, w.bytes, w.dscp, w.flags)
		}
		if other.Packets != 0 || other.Bytes != 0 {
			t.Errorf("flow %+v: other direction counted %d packets", w.f, other.Packets)
		}
		if d.FirstNs == 0 || d.Last == 0 { // last is in jiffies here: raw map contents
			t.Errorf("flow %+v: first=%d last=%d", w.f, d.FirstNs, d.Last)
		}
	}
	c := counters(t, o)
	for i := range c {
		if c[i] != tc.counters[contract.Counter(i)] {
			t.Errorf("counter %s = %d, want %d", contract.CounterNames[i], c[i], tc.counters[contract.Counter(i)])
		}
	}
}

func tcp4(t *testing.T, tcp layers.TCP, n int) []byte {
	tcp.SrcPort, tcp.DstPort, tcp.Window = 40000, 443, 1000
	ip := ipv4(layers.IPProtocolTCP, 0)
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, &tcp, payload(n))
}

func ipv6WithExt(t *testing.T, sport, dport uint16, n int) []byte {
	ip := ipv6(layers.IPProtocolIPv6HopByHop, 0)
	// Hop-by-hop (8 bytes), destination options (16 bytes), then UDP.
	hop := []byte{byte(layers.IPProtocolIPv6Destination), 0, 1, 4, 0, 0, 0, 0}
	dst := []byte{byte(layers.IPProtocolUDP), 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	u := serialize(t, udp(sport, dport), payload(n))
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	return serialize(t, eth(layers.EthernetTypeIPv6), ip, gopacket.Payload(append(append(hop, dst...), u...)))
}

// frag4 builds an IPv4 fragment: the first carries the UDP header and 1472
// bytes, a later one (offset in 8-byte units) 100 bytes of payload only.
func frag4(t *testing.T, offset uint16, more, first bool) []byte {
	ip := ipv4(layers.IPProtocolUDP, 0)
	ip.FragOffset = offset
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	if first {
		u := serialize(t, udp(5000, 3478), payload(1472))
		return serialize(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(u))
	}
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, payload(100))
}

func frag6(t *testing.T, offset uint16, first bool) []byte {
	ip := ipv6(layers.IPProtocolIPv6Fragment, 0)
	fh := make([]byte, 8)
	fh[0] = byte(layers.IPProtocolUDP)
	binary.BigEndian.PutUint16(fh[2:], offset&0xFFF8|1)
	body := []byte(payload(100))
	if first {
		body = serialize(t, udp(5000, 3478), payload(100))
	}
	return serialize(t, eth(layers.EthernetTypeIPv6), ip, gopacket.Payload(append(fh, body...)))
}

func badIHL(pkt []byte) []byte {
	out := append([]byte(nil), pkt...)
	out[14] = 0x44 // version 4, IHL 4 words
	return out
}
