// Package pkt builds the packets tests feed to the classifier, the Go
// twin and the capture reader: Ethernet frames around IPv4 or IPv6 and UDP
// or TCP, RTP, TURN ChannelData and a real TLS ClientHello. It is written
// out byte by byte, so a test sees exactly what goes on the wire, and
// depends on no teamsflow package, so tests of any package (bpf's too)
// can use it.
package pkt

import (
	"encoding/binary"
	"net/netip"
)

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	protoTCP  = 6
	protoUDP  = 17
)

// Frame says what is around a payload. Checksums stay zero: neither the
// classifier nor the Go parsers read them.
type Frame struct {
	Src, Dst netip.AddrPort // IPv6 when Src is, else IPv4
	TCP      bool           // UDP when false
	Seq      uint32         // the TCP sequence number
	Flags    uint8          // the TCP flags
	TOS      uint8          // IPv4 TOS or IPv6 traffic class: DSCP<<2 | ECN
}

// UDP is an Ethernet + IPv4/IPv6 + UDP frame from src to dst.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	return Frame{Src: src, Dst: dst}.Build(payload)
}

// Build wraps payload in the frame's headers.
func (f Frame) Build(payload []byte) []byte {
	l4, proto := f.transport(payload), byte(protoUDP)
	if f.TCP {
		proto = protoTCP
	}
	b := make([]byte, 12, 14+40+len(l4))
	copy(b, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}) // destination, source MAC
	if f.Src.Addr().Is6() {
		b = binary.BigEndian.AppendUint16(b, etherIPv6)
		ip := make([]byte, 40)
		binary.BigEndian.PutUint32(ip, 6<<28|uint32(f.TOS)<<20)
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6], ip[7] = proto, 64
		s, d := f.Src.Addr().As16(), f.Dst.Addr().As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		return append(append(b, ip...), l4...)
	}
	b = binary.BigEndian.AppendUint16(b, etherIPv4)
	ip := make([]byte, 20)
	ip[0], ip[1], ip[8], ip[9] = 0x45, f.TOS, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	s, d := f.Src.Addr().As4(), f.Dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	return append(append(b, ip...), l4...)
}

// transport is the UDP or TCP header (no options) and the payload.
func (f Frame) transport(payload []byte) []byte {
	var l4 []byte
	if f.TCP {
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint32(l4[4:], f.Seq)
		l4[12], l4[13] = 5<<4, f.Flags
	} else {
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	}
	binary.BigEndian.PutUint16(l4, f.Src.Port())
	binary.BigEndian.PutUint16(l4[2:], f.Dst.Port())
	return append(l4, payload...)
}

// RTP is an RTP packet (RFC 3550 §5.1, version 2, no CSRC or extension)
// with size zero bytes of payload.
func RTP(ssrc uint32, pt uint8, seq uint16, ts uint32, marker bool, size int) []byte {
	b := []byte{0x80, pt}
	if marker {
		b[1] |= 0x80
	}
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	b = binary.BigEndian.AppendUint32(b, ssrc)
	return append(b, make([]byte, size)...)
}

// ChannelData wraps inner in TURN ChannelData (RFC 8656 §12.4) on channel;
// pad adds the zero bytes to a multiple of 4 that UDP carries and TCP may
// leave out.
func ChannelData(channel uint16, inner []byte, pad bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, channel)
	b = binary.BigEndian.AppendUint16(b, uint16(len(inner)))
	b = append(b, inner...)
	if pad {
		b = append(b, make([]byte, (4-len(inner)%4)%4)...)
	}
	return b
}
