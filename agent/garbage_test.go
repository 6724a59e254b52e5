package agent

import (
	"encoding/binary"
	"math/rand"
)

// Malformed frames of the kinds a hostile or broken peer puts on a link:
// random bytes, headers cut short, lengths that lie, long IPv6 extension
// chains, fragments. Addresses are in documentation ranges (198.51.100.0/24,
// 2001:db8::/32) so that they never meet a real flow. The destination MAC
// is nobody's: the receiving stack drops them as "other host" after the
// classifier saw them, so they provoke no answers.

var (
	garbageDstMAC = []byte{0x02, 0, 0, 0, 0, 0x99}
	garbageSrcMAC = []byte{0x02, 0, 0, 0, 0, 0x98}
)

const (
	protoTCP    = 6
	protoUDP    = 17
	etherIPv4   = 0x0800
	etherIPv6   = 0x86DD
	ether8021Q  = 0x8100
	ether8021AD = 0x88A8
)

// garbageKind names a family of malformed frames; make builds one.
type garbageKind struct {
	name string
	vlan bool // carries VLAN tags: sent on egress only, since receive strips them before the classifier
	make func(r *rand.Rand) []byte
}

var garbageKinds = []garbageKind{
	{"random bytes", false, randomBytes},
	{"ipv4 header cut short", false, func(r *rand.Rand) []byte { return eth(etherIPv4, ipv4(r, protoUDP, 5, 0, 0)[:r.Intn(20)]) }},
	{"ipv4 l4 header cut short", false, ipv4ShortL4},
	{"ipv4 bad ihl", false, ipv4BadIHL},
	{"ipv4 lying total length", false, ipv4LyingLength},
	{"ipv4 fragment", false, ipv4Fragment},
	{"ipv6 header cut short", false, func(r *rand.Rand) []byte { return eth(etherIPv6, ipv6(r, protoUDP, 8)[:r.Intn(40)]) }},
	{"ipv6 extension chain", false, ipv6Chain},
	{"ipv6 fragment", false, ipv6Fragment},
	{"vlan tagged", true, vlanTagged},
}

func eth(proto uint16, payload []byte) []byte {
	f := append(append(append([]byte{}, garbageDstMAC...), garbageSrcMAC...), byte(proto>>8), byte(proto))
	return append(f, payload...)
}

// randomBytes is a frame of random bytes after the MAC addresses, its
// EtherType IPv4, IPv6 or random (but not a VLAN tag).
func randomBytes(r *rand.Rand) []byte {
	body := make([]byte, r.Intn(120))
	r.Read(body)
	proto := []uint16{etherIPv4, etherIPv6, uint16(r.Intn(0x8000))}[r.Intn(3)]
	return eth(proto, body)
}

// ipv4 is an IPv4 header of ihl words (options random) with a true total
// length of the header alone, followed by nothing.
func ipv4(r *rand.Rand, proto uint8, ihl int, fragOff uint16, flags uint16) []byte {
	h := make([]byte, max(20, ihl*4))
	r.Read(h[20:])
	h[0] = 0x40 | byte(ihl&0x0F)
	h[1] = byte(r.Intn(64)) << 2
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)))
	binary.BigEndian.PutUint16(h[4:], uint16(1+r.Intn(0xFFFE)))
	binary.BigEndian.PutUint16(h[6:], flags<<13|fragOff&0x1FFF)
	h[8], h[9] = 64, proto
	copy(h[12:], []byte{198, 51, 100, byte(r.Intn(256))})
	copy(h[16:], []byte{198, 51, 100, byte(r.Intn(256))})
	return h
}

// withL4 appends an L4 header (and payload) and sets the total length.
func withL4(ip []byte, l4 []byte) []byte {
	out := append(append([]byte{}, ip...), l4...)
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	return out
}

func udp(r *rand.Rand, payload int) []byte {
	h := make([]byte, 8+payload)
	r.Read(h[8:])
	binary.BigEndian.PutUint16(h[0:], uint16(1024+r.Intn(60000)))
	binary.BigEndian.PutUint16(h[2:], uint16(1024+r.Intn(60000)))
	binary.BigEndian.PutUint16(h[4:], uint16(len(h)))
	return h
}

func tcp(r *rand.Rand, payload int) []byte {
	h := make([]byte, 20+payload)
	r.Read(h)
	h[12] = byte(5+r.Intn(11)) << 4 // data offset may lie too
	return h
}

func l4(r *rand.Rand, proto uint8) []byte {
	if proto == protoUDP {
		return udp(r, r.Intn(64))
	}
	return tcp(r, r.Intn(64))
}

func randomProto(r *rand.Rand) uint8 { return []uint8{protoTCP, protoUDP}[r.Intn(2)] }

func ipv4ShortL4(r *rand.Rand) []byte {
	proto := randomProto(r)
	full := l4(r, proto)
	want := map[uint8]int{protoUDP: 8, protoTCP: 20}[proto]
	return eth(etherIPv4, withL4(ipv4(r, proto, 5, 0, 0), full[:r.Intn(want)]))
}

// ipv4BadIHL claims fewer than five header words (never valid) or more
// than the frame holds.
func ipv4BadIHL(r *rand.Rand) []byte {
	proto := randomProto(r)
	ip := ipv4(r, proto, 5, 0, 0)
	ihl := r.Intn(16)
	ip[0] = 0x40 | byte(ihl)
	seg := l4(r, proto)
	return eth(etherIPv4, withL4(ip, seg[:r.Intn(len(seg)+1)]))
}

func ipv4LyingLength(r *rand.Rand) []byte {
	proto := randomProto(r)
	pkt := withL4(ipv4(r, proto, 5+r.Intn(3), 0, 0), l4(r, proto))
	binary.BigEndian.PutUint16(pkt[2:], uint16(r.Intn(0x10000)))
	return eth(etherIPv4, pkt)
}

// ipv4Fragment is a later fragment (no ports in it) or a first fragment
// with more-fragments set (ports present).
func ipv4Fragment(r *rand.Rand) []byte {
	proto := randomProto(r)
	if r.Intn(3) == 0 {
		return eth(etherIPv4, withL4(ipv4(r, proto, 5, 0, 1), l4(r, proto)))
	}
	body := make([]byte, r.Intn(64))
	r.Read(body)
	return eth(etherIPv4, withL4(ipv4(r, proto, 5, uint16(1+r.Intn(0x1FFE)), uint16(r.Intn(2))), body))
}

func ipv6(r *rand.Rand, next uint8, payloadLen int) []byte {
	h := make([]byte, 40)
	binary.BigEndian.PutUint32(h[0:], 6<<28|uint32(r.Intn(256))<<20|uint32(r.Intn(1<<20)))
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6], h[7] = next, 64
	copy(h[8:], []byte{0x20, 0x01, 0x0d, 0xb8})
	h[23] = byte(r.Intn(256))
	copy(h[24:], []byte{0x20, 0x01, 0x0d, 0xb8})
	h[39] = byte(r.Intn(256))
	return h
}

// extHeader builds one extension header of type typ whose next header is
// next, with the length field its type uses.
func extHeader(r *rand.Rand, typ, next uint8) []byte {
	switch typ {
	case 44: // fragment: offset 0, so the ports still follow
		h := make([]byte, 8)
		h[0] = next
		binary.BigEndian.PutUint16(h[2:], uint16(r.Intn(2))) // M flag only
		return h
	case 51: // AH: (len+2) 4-byte words
		n := r.Intn(4)
		h := make([]byte, (n+2)*4)
		r.Read(h)
		h[0], h[1] = next, byte(n)
		return h
	}
	n := r.Intn(3)
	h := make([]byte, (n+1)*8)
	r.Read(h)
	h[0], h[1] = next, byte(n)
	return h
}

// ipv6Chain is a chain of 0-8 extension headers (the classifier follows
// six), then TCP or UDP, the whole sometimes cut short.
func ipv6Chain(r *rand.Rand) []byte {
	proto := randomProto(r)
	types := make([]uint8, r.Intn(9))
	for i := range types {
		types[i] = []uint8{0, 43, 60, 44, 51}[r.Intn(5)]
	}
	body := l4(r, proto)
	next := proto
	for i := len(types) - 1; i >= 0; i-- {
		body = append(extHeader(r, types[i], next), body...)
		next = types[i]
	}
	first := next
	pkt := append(ipv6(r, first, len(body)), body...)
	if r.Intn(3) == 0 {
		pkt = pkt[:40+r.Intn(len(body))]
	}
	return eth(etherIPv6, pkt)
}

func ipv6Fragment(r *rand.Rand) []byte {
	proto := randomProto(r)
	frag := make([]byte, 8)
	frag[0] = proto
	binary.BigEndian.PutUint16(frag[2:], uint16(1+r.Intn(0x1FFE))<<3|uint16(r.Intn(2)))
	body := make([]byte, r.Intn(64))
	r.Read(body)
	body = append(frag, body...)
	return eth(etherIPv6, append(ipv6(r, 44, len(body)), body...))
}

// vlanTagged is an IPv4 UDP or TCP packet behind one or two VLAN tags (or
// a tag cut short).
func vlanTagged(r *rand.Rand) []byte {
	proto := randomProto(r)
	inner := withL4(ipv4(r, proto, 5, 0, 0), l4(r, proto))
	tags := []byte{}
	outer := uint16(ether8021Q)
	if r.Intn(2) == 0 {
		outer = ether8021AD
		tags = append(tags, 0, byte(r.Intn(256)), byte(ether8021Q>>8), byte(ether8021Q&0xFF))
	}
	tags = append(tags, 0, byte(r.Intn(256)), byte(etherIPv4>>8), byte(etherIPv4&0xFF))
	f := eth(outer, append(tags, inner...))
	if r.Intn(4) == 0 {
		f = f[:14+r.Intn(len(tags))]
	}
	return f
}
