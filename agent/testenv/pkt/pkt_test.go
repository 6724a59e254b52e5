package pkt

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pion/rtp"

	"github.com/teamsflow/teamsflow/agent/dissect"
)

// gopacket, an independent decoder, reads the frames as built: addresses,
// ports, lengths, TOS and TCP fields.
func TestFrameDecodes(t *testing.T) {
	src4, dst4 := netip.MustParseAddrPort("10.9.0.1:40000"), netip.MustParseAddrPort("10.9.0.2:3478")
	p := gopacket.NewPacket(UDP(src4, dst4, []byte("abc")), layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil || p.ErrorLayer() != nil {
		t.Fatalf("IPv4/UDP frame: %v", p)
	}
	if ip.SrcIP.String() != "10.9.0.1" || ip.DstIP.String() != "10.9.0.2" || ip.Length != 31 || ip.TTL != 64 ||
		udp.SrcPort != 40000 || udp.DstPort != 3478 || udp.Length != 11 || string(udp.Payload) != "abc" {
		t.Errorf("IPv4/UDP frame reads %+v %+v", ip, udp)
	}

	src6, dst6 := netip.MustParseAddrPort("[fd01::1]:50000"), netip.MustParseAddrPort("[fd01::2]:443")
	f := Frame{Src: src6, Dst: dst6, TCP: true, Seq: 7, Flags: 0x18, TOS: 46 << 2}
	p = gopacket.NewPacket(f.Build([]byte("hello")), layers.LayerTypeEthernet, gopacket.Default)
	ip6, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip6 == nil || tcp == nil || p.ErrorLayer() != nil {
		t.Fatalf("IPv6/TCP frame: %v", p)
	}
	if ip6.SrcIP.String() != "fd01::1" || ip6.DstIP.String() != "fd01::2" || ip6.TrafficClass != 46<<2 || ip6.Length != 25 ||
		tcp.SrcPort != 50000 || tcp.DstPort != 443 || tcp.Seq != 7 || !tcp.PSH || !tcp.ACK || tcp.SYN || string(tcp.Payload) != "hello" {
		t.Errorf("IPv6/TCP frame reads %+v %+v", ip6, tcp)
	}
}

func TestRTPDecodes(t *testing.T) {
	var p rtp.Packet
	if err := p.Unmarshal(RTP(0x5EC, 111, 65535, 960, true, 80)); err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || p.SSRC != 0x5EC || p.PayloadType != 111 || p.SequenceNumber != 65535 ||
		p.Timestamp != 960 || !p.Marker || len(p.Payload) != 80 {
		t.Errorf("RTP reads %+v", p.Header)
	}
}

func TestChannelData(t *testing.T) {
	inner := []byte{1, 2, 3, 4, 5}
	if got := ChannelData(0x4001, inner, false); !bytes.Equal(got, []byte{0x40, 0x01, 0, 5, 1, 2, 3, 4, 5}) {
		t.Errorf("unpadded: %x", got)
	}
	if got := ChannelData(0x4000, inner, true); len(got) != 12 || got[3] != 5 {
		t.Errorf("padded to 4: %x", got)
	}
}

// The hello is whole (its declared length is there) and names the server.
func TestClientHello(t *testing.T) {
	b := ClientHello(t, "teams.microsoft.com")
	if name, err := dissect.ClientHelloSNI(b); err != nil || name != "teams.microsoft.com" {
		t.Errorf("ClientHello's SNI: %q, %v", name, err)
	}
	if !helloComplete(b) || helloComplete(b[:len(b)-1]) {
		t.Error("helloComplete does not mark the hello's last byte")
	}
}
