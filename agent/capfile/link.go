package capfile

import (
	"encoding/binary"
	"net/netip"

	"github.com/teamsflow/teamsflow/agent/packet"
)

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86DD
)

// linkFrame strips what the capture's link layer adds, so that the parser
// sees what the classifier sees: an Ethernet frame (l2) or a bare IP packet
// with its EtherType.
func linkFrame(data []byte, link uint16) (frame []byte, l2 bool, proto uint16, ok bool) {
	switch link {
	case linkEthernet:
		return data, true, 0, true
	case linkRaw, linkIPv4, linkIPv6, linkRawBSD:
		return rawIP(data)
	case linkLinuxSLL:
		if len(data) < 16 {
			return nil, false, 0, false
		}
		return data[16:], false, binary.BigEndian.Uint16(data[14:]), true
	case linkLinuxSLL2:
		if len(data) < 20 {
			return nil, false, 0, false
		}
		return data[20:], false, binary.BigEndian.Uint16(data[0:]), true
	case linkNull, linkLoop:
		if len(data) < 4 {
			return nil, false, 0, false
		}
		return rawIP(data[4:])
	}
	return nil, false, 0, false
}

func rawIP(data []byte) ([]byte, bool, uint16, bool) {
	if len(data) == 0 {
		return nil, false, 0, false
	}
	switch data[0] >> 4 {
	case 4:
		return data, false, etherIPv4, true
	case 6:
		return data, false, etherIPv6, true
	}
	return nil, false, 0, false
}

// directions decides which end of a flow is local: a capture has no
// ingress or egress. Best first: the end with a private address when the
// other has a public one; the end without a service port (DNS, TLS, the
// Teams relay ports, ...) when the other has one; else the sender of the
// flow's first packet.
type directions struct {
	local map[endpoints]netip.AddrPort // flow -> its local end
}

type endpoints struct{ a, b netip.AddrPort }

func newDirections() directions { return directions{local: map[endpoints]netip.AddrPort{}} }

func (d directions) egress(p packet.Packet) bool {
	src, dst := addrPort(p.Src, p.Family, p.SrcPort), addrPort(p.Dst, p.Family, p.DstPort)
	if sp, dp := private(src.Addr()), private(dst.Addr()); sp != dp {
		return sp
	}
	if ss, ds := servicePort(p.SrcPort), servicePort(p.DstPort); ss != ds {
		return ds
	}
	key := endpoints{src, dst}
	if dst.Compare(src) < 0 {
		key = endpoints{dst, src}
	}
	local, ok := d.local[key]
	if !ok {
		d.local[key] = src
		return true
	}
	return local == src
}

func addrPort(b [16]byte, family uint8, port uint16) netip.AddrPort {
	if family == 4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(b), port)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func private(a netip.Addr) bool {
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || cgnat.Contains(a)
}

// servicePort is a port that servers listen on: the well-known ones, the
// STUN/TURN ports Teams relays use, and common alternatives.
func servicePort(p uint16) bool {
	switch {
	case p < 1024, p >= 3478 && p <= 3481, p == 8080, p == 8443, p == 8801, p == 5349:
		return true
	}
	return false
}
