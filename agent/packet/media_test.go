package packet

import (
	"encoding/binary"
	"math/rand"
	"net/netip"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// Frames with payloads for the hint parsers: STUN, Microsoft TURN, DTLS,
// ChannelData, RTP (CSRCs, extensions, markers, wraps), RTCP, DNS answers
// and ClientHellos split over segments; then damaged copies of them.

// frame wraps an L4 payload into Ethernet + IPv4/IPv6 + UDP/TCP (PSH|ACK),
// from the client to the relay.
func frame(v6 bool, proto byte, sport, dport uint16, seq uint32, payload []byte) []byte {
	src, dst, tos := netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("52.112.65.10"), uint8(46<<2)
	if v6 {
		src, dst, tos = netip.MustParseAddr("fd00::2"), netip.MustParseAddr("fd00::1"), 0
	}
	return pkt.Frame{Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(dst, dport),
		TCP: proto != protoUDP, Seq: seq, Flags: 0x18, TOS: tos}.Build(payload)
}

func rtpPacket(rng *rand.Rand, ssrc uint32, pt byte, seq uint16, ts uint32, size int) []byte {
	cc := 0
	if rng.Intn(8) == 0 {
		cc = 1 + rng.Intn(3)
	}
	b := []byte{0x80 | byte(cc), pt}
	if rng.Intn(4) == 0 {
		b[1] |= 0x80
	}
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = append(b, make([]byte, 4*cc)...)
	if rng.Intn(3) == 0 {
		b[0] |= 0x10
		words := rng.Intn(3)
		b = append(b, 0xBE, 0xDE, 0, byte(words))
		b = append(b, make([]byte, 4*words)...)
	}
	b = append(b, make([]byte, size)...)
	if rng.Intn(4) == 0 {
		// The P bit (a padding probe; under SRTP its count is encrypted).
		b[0] |= 0x20
		b[len(b)-1] = byte(rng.Intn(256))
	}
	return b
}

func stunPacket(typ uint16, msturn bool, attrs int) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(attrs))
	if msturn {
		b = append(b, make([]byte, 16)...) // 128-bit transaction id
	} else {
		b = binary.BigEndian.AppendUint32(b, stunMagic)
		b = append(b, make([]byte, 12)...)
	}
	return append(b, make([]byte, attrs)...)
}

// indication is a TURN Send (0x0016) or Data (0x0017) indication: an
// XOR-PEER-ADDRESS of the peer's family, then DATA holding inner.
func indication(typ uint16, v6 bool, inner []byte) []byte {
	peer := 8
	if v6 {
		peer = 20
	}
	attrs := binary.BigEndian.AppendUint16(nil, 0x0012)
	attrs = binary.BigEndian.AppendUint16(attrs, uint16(peer))
	attrs = append(attrs, make([]byte, peer)...)
	attrs = binary.BigEndian.AppendUint16(attrs, 0x0013)
	attrs = binary.BigEndian.AppendUint16(attrs, uint16(len(inner)))
	attrs = append(attrs, inner...)
	attrs = append(attrs, make([]byte, (4-len(inner)%4)%4)...)
	b := stunPacket(typ, false, 0)
	binary.BigEndian.PutUint16(b[2:], uint16(len(attrs)))
	return append(b, attrs...)
}

func dnsAnswer() []byte {
	b := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	b = append(b, []byte("\x05teams\x09microsoft\x03com\x00\x00\x01\x00\x01")...)
	return append(b, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 52, 112, 65, 10)
}

// clientHello is a TLS handshake record of the given total size.
func clientHello(size int) []byte {
	b := []byte{0x16, 0x03, 0x01}
	b = binary.BigEndian.AppendUint16(b, uint16(size-5))
	b = append(b, 0x01)
	return append(b, make([]byte, size-len(b))...)
}

// mediaFrames returns a call's worth of frames in order, each with its
// direction, then damaged variants.
func mediaFrames(rng *rand.Rand) (frames [][]byte, egress []bool) {
	add := func(out bool, f []byte) { frames, egress = append(frames, f), append(egress, out) }
	for _, v6 := range []bool{false, true} {
		add(true, frame(v6, protoUDP, 50010, 3478, 0, stunPacket(0x0001, false, 8)))
		add(false, frame(v6, protoUDP, 3478, 50010, 0, stunPacket(0x0101, false, 12)))
		add(true, frame(v6, protoUDP, 50011, 3478, 0, stunPacket(0x0003, true, 24)))
		add(false, frame(v6, protoUDP, 3478, 50011, 0, stunPacket(0x0115, true, 40)))
		add(true, frame(v6, protoUDP, 50012, 3479, 0, append([]byte{22, 0xfe, 0xfd}, make([]byte, 40)...)))
		add(false, frame(v6, 17, 53, 40000, 0, dnsAnswer()))
		// Checks through a relay: on a channel, in Send and Data
		// indications; and media in the same framing, not sampled.
		add(true, frame(v6, protoUDP, 50013, 3478, 0, pkt.ChannelData(0x4001, stunPacket(0x0001, false, 28), false)))
		add(false, frame(v6, protoUDP, 3478, 50013, 0, pkt.ChannelData(0x4001, stunPacket(0x0111, false, 16), false)))
		add(true, frame(v6, protoUDP, 50014, 3478, 0, indication(0x0016, v6, stunPacket(0x0001, false, 36))))
		add(false, frame(v6, protoUDP, 3478, 50014, 0, indication(0x0017, v6, stunPacket(0x0101, false, 12))))
		add(false, frame(v6, protoUDP, 3478, 50014, 0, indication(0x0017, v6, rtpPacket(rng, 9, 111, 1, 0, 80))))
		add(true, frame(v6, protoUDP, 50014, 3478, 0, stunPacket(0x0003, false, 20))) // an Allocate: not sampled
		seq, ts := uint16(65500), uint32(4294960000)
		for i := 0; i < 60; i++ {
			if rng.Intn(10) == 0 {
				seq++ // a loss
			}
			for _, out := range []bool{true, false} {
				p := rtpPacket(rng, 0xA1B2C3D4, 111, seq, ts, 60+rng.Intn(160))
				add(out, frame(v6, protoUDP, 50020, 3480, 0, p))
				add(out, frame(v6, protoUDP, 50021, 3478, 0, pkt.ChannelData(0x4001, rtpPacket(rng, 7, 104, seq, ts, 90), false)))
				add(out, frame(v6, protoUDP, 50020, 3480, 0, rtpPacket(rng, 0x99, 107, seq, ts*3, 1100)))
				// Comfort noise first and now and then, a frame of two
				// packets, a duplicate and a late packet (timestamp behind).
				add(out, frame(v6, protoUDP, 50022, 3480, 0, rtpPacket(rng, 0x55, []byte{13, 0, 9}[i%3], seq, ts-uint32(i%4)*960, 40)))
				// A first probe at timestamp 0, then media half the number space away.
				rebased := 2920203329 + uint32(i)*3000
				if i == 0 {
					rebased = 0
				}
				add(out, frame(v6, protoUDP, 50023, 3480, 0, rtpPacket(rng, 0x66, 97, seq, rebased, 200)))
			}
			add(false, frame(v6, protoUDP, 3480, 50020, 0, append([]byte{0x81, 200, 0, 6}, make([]byte, 24)...)))
			seq, ts = seq+1, ts+960
		}
		hello := clientHello(1800)
		add(true, frame(v6, protoTCP, 40100, 443, 1000, hello[:1200]))
		add(true, frame(v6, protoTCP, 40100, 443, 2200, hello[1200:]))
		add(true, frame(v6, protoTCP, 40100, 443, 2800, []byte("application data after the hello")))
	}
	n := len(frames)
	for i := 0; i < n; i++ {
		f := append([]byte(nil), frames[rng.Intn(n)]...)
		switch rng.Intn(3) {
		case 0:
			f = f[:max(14, rng.Intn(len(f)+1))]
		case 1:
			for j := 0; j < 3; j++ {
				f[14+rng.Intn(len(f)-14)] = byte(rng.Intn(256))
			}
		case 2:
			at := 42 + rng.Intn(8)
			if at < len(f) {
				f[at] = []byte{0, 1, 22, 64, 0x80, 0x90, 200}[rng.Intn(7)]
			}
		}
		add(rng.Intn(2) == 0, f)
	}
	return frames, egress
}
