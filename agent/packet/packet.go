// Package packet is the pure-Go twin of the TC classifier's header parser
// (bpf/tf_parse.h) and payload hints (bpf/tf_hints.h). `teamsflow analyze`
// feeds capture files through it so that offline answers equal live ones;
// differential tests run the same packets through both and require
// identical flow records, RTP source state and samples. Any change to one
// must be made to the other.
//
// What the twin keeps, as the kernel does (bpf/README.md, "What the
// classifier hands up"): per RTP source, RFC 3550 A.1's sequence state
// (probation, MAX_DROPOUT 3000, MAX_MISORDER 100, bad_seq resync, cycles)
// with duplicates among the 64 highest sequence numbers counted apart, and
// A.8's jitter updated as libwebrtc does, once per new timestamp from
// in-order packets; samples of DNS answers, ClientHellos and STUN Binding
// messages (bare, on a TURN channel, in a Send/Data indication), under one
// rate limit. The record fields that come of them are rtp_lost,
// rtp_loss_pct, rtp_duplicates and rtp_jitter_ms, and, from the STUN
// samples, rtt_ms.
package packet

import "encoding/binary"

// Result says what the parser made of a packet (enum tf_parse_result).
type Result int

const (
	OK    Result = iota // TCP or UDP over IP: counted
	Skip                // not TCP or UDP over IP
	Short               // a header goes past the end of the data
)

const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86DD
	ether8021Q  = 0x8100
	ether8021AD = 0x88A8
	maxVLAN     = 2
	maxExtHdr   = 6
	protoTCP    = 6
	protoUDP    = 17
)

// Packet is what one packet contributes to its flow (struct tf_pkt).
type Packet struct {
	Src, Dst     [16]byte // IPv4 in the first 4 bytes
	SrcPort      uint16
	DstPort      uint16
	Protocol     uint8
	Family       uint8 // 4 or 6
	TCPFlags     uint8
	DSCP         uint8
	IPLen        uint32 // IP header + payload, as the IP header says
	Fragment     bool   // non-first fragment: no ports
	PayloadStart int    // offset of the L4 payload in the data (0 if none)
	PayloadLen   int    // L4 payload bytes, as the headers say
	TCPSeq       uint32
}

// Parse reads a frame from its first byte; l2 says whether that is an
// Ethernet header or already the IP header. proto is the EtherType the
// link layer reported, used when l2 is false.
func Parse(data []byte, l2 bool, proto uint16) (Packet, Result) {
	var p Packet
	cur := 0
	if l2 {
		if len(data) < 14 {
			return p, Short
		}
		proto = binary.BigEndian.Uint16(data[12:])
		cur = 14
		for i := 0; i < maxVLAN && (proto == ether8021Q || proto == ether8021AD); i++ {
			if len(data) < cur+4 {
				return p, Short
			}
			proto = binary.BigEndian.Uint16(data[cur+2:])
			cur += 4
		}
	}
	switch proto {
	case etherIPv4:
		return p, parseIPv4(data, cur, &p)
	case etherIPv6:
		return p, parseIPv6(data, cur, &p)
	}
	return p, Skip
}

func parseIPv4(data []byte, off int, p *Packet) Result {
	if len(data) < off+20 {
		return Short
	}
	ip := data[off:]
	ihl := int(ip[0]&0x0F) * 4
	if ihl < 20 {
		return Skip
	}
	p.Family = 4
	p.Protocol = ip[9]
	p.DSCP = ip[1] >> 2
	p.IPLen = uint32(binary.BigEndian.Uint16(ip[2:]))
	copy(p.Src[:4], ip[12:16])
	copy(p.Dst[:4], ip[16:20])
	p.Fragment = binary.BigEndian.Uint16(ip[6:])&0x1FFF != 0
	return parseL4(data, off, off+ihl, p)
}

func parseIPv6(data []byte, off int, p *Packet) Result {
	if len(data) < off+40 {
		return Short
	}
	ip := data[off:]
	p.Family = 6
	p.DSCP = uint8(binary.BigEndian.Uint16(ip)>>6) & 0x3F
	p.IPLen = uint32(binary.BigEndian.Uint16(ip[4:])) + 40
	copy(p.Src[:], ip[8:24])
	copy(p.Dst[:], ip[24:40])
	next := ip[6]
	cur := off + 40
	for i := 0; i < maxExtHdr && isExtHdr(next); i++ {
		if len(data) < cur+8 {
			return Short
		}
		h := data[cur:]
		switch next {
		case 44: // fragment
			p.Fragment = binary.BigEndian.Uint16(h[2:])&0xFFF8 != 0
			cur += 8
		case 51: // AH
			cur += (int(h[1]) + 2) * 4
		default:
			cur += (int(h[1]) + 1) * 8
		}
		next = h[0]
	}
	p.Protocol = next
	return parseL4(data, off, cur, p)
}

func isExtHdr(n uint8) bool {
	return n == 0 || n == 43 || n == 60 || n == 44 || n == 51
}

// payload places the L4 payload from the header lengths, with the
// kernel's 16-bit arithmetic (tf_payload).
func payload(l3, l4, hdr int, p *Packet) {
	used := uint32(l4-l3) + uint32(hdr)
	p.PayloadStart = int(uint16(l4) + uint16(hdr))
	p.PayloadLen = 0
	if p.IPLen > used {
		p.PayloadLen = int(uint16(p.IPLen - used))
	}
}

func parseL4(data []byte, l3, off int, p *Packet) Result {
	if p.Protocol != protoTCP && p.Protocol != protoUDP {
		return Skip
	}
	if p.Fragment {
		return OK
	}
	if p.Protocol == protoUDP {
		if len(data) < off+8 {
			return Short
		}
		p.SrcPort = binary.BigEndian.Uint16(data[off:])
		p.DstPort = binary.BigEndian.Uint16(data[off+2:])
		payload(l3, off, 8, p)
		return OK
	}
	if len(data) < off+20 {
		return Short
	}
	p.SrcPort = binary.BigEndian.Uint16(data[off:])
	p.DstPort = binary.BigEndian.Uint16(data[off+2:])
	p.TCPFlags = data[off+13]
	p.TCPSeq = binary.BigEndian.Uint32(data[off+4:])
	payload(l3, off, int(data[off+12]>>4)*4, p)
	return OK
}
