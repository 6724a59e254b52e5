package packet

import (
	"encoding/binary"
	"math/rand"
)

// randomFrame builds a plausible frame (VLAN tags, IPv4/IPv6 with
// extension headers and fragments, TCP/UDP/other) and then maybe damages
// it: truncation, random bytes, bad lengths.
func randomFrame(rng *rand.Rand) []byte {
	f := make([]byte, 12, 256)
	rng.Read(f)
	for n := rng.Intn(3); n > 0; n-- {
		f = binary.BigEndian.AppendUint16(f, pick(rng, ether8021Q, ether8021AD))
		f = append(f, byte(rng.Intn(16)), byte(rng.Intn(256)))
	}
	if rng.Intn(2) == 0 {
		f = binary.BigEndian.AppendUint16(f, pick(rng, etherIPv4, etherIPv4, 0x0806))
		f = appendIPv4(rng, f)
	} else {
		f = binary.BigEndian.AppendUint16(f, etherIPv6)
		f = appendIPv6(rng, f)
	}
	switch rng.Intn(6) {
	case 0:
		f = f[:14+rng.Intn(len(f)-14+1)]
	case 1:
		for i := 0; i < 4; i++ {
			f[14+rng.Intn(len(f)-14)] = byte(rng.Intn(256))
		}
	}
	if len(f) < 14 {
		f = append(f, make([]byte, 14-len(f))...)
	}
	return f
}

func pick(rng *rand.Rand, opts ...uint16) uint16 { return opts[rng.Intn(len(opts))] }

func appendIPv4(rng *rand.Rand, f []byte) []byte {
	proto := []byte{protoTCP, protoUDP, protoUDP, 1}[rng.Intn(4)]
	hdr := make([]byte, 20)
	hdr[0] = 0x45
	hdr[1] = byte(rng.Intn(64)) << 2
	binary.BigEndian.PutUint16(hdr[2:], uint16(20+rng.Intn(1400)))
	if rng.Intn(5) == 0 {
		binary.BigEndian.PutUint16(hdr[6:], uint16(rng.Intn(3))*185|0x2000)
	}
	hdr[9] = proto
	copy(hdr[12:], []byte{10, 0, 0, byte(1 + rng.Intn(3)), 10, 0, 1, byte(1 + rng.Intn(3))})
	return appendL4(rng, append(f, hdr...), proto)
}

func appendIPv6(rng *rand.Rand, f []byte) []byte {
	hdr := make([]byte, 40)
	hdr[0] = 0x60 | byte(rng.Intn(16))
	binary.BigEndian.PutUint16(hdr[4:], uint16(rng.Intn(1400)))
	hdr[8], hdr[23] = 0xfd, byte(1+rng.Intn(3))
	hdr[24], hdr[39] = 0xfd, byte(4+rng.Intn(3))
	proto := []byte{protoTCP, protoUDP, 58}[rng.Intn(3)]
	var exts []byte
	next := proto
	for n := rng.Intn(4); n > 0; n-- {
		typ := []byte{0, 43, 60, 44, 51}[rng.Intn(5)]
		ext := make([]byte, 8)
		ext[0] = next
		if typ == 44 {
			binary.BigEndian.PutUint16(ext[2:], uint16(rng.Intn(2))*1448)
		} else if typ == 51 {
			ext[1] = 0 // (0+2)*4 = 8 bytes
		}
		exts = append(ext, exts...)
		next = typ
	}
	hdr[6] = next
	return appendL4(rng, append(append(f, hdr...), exts...), proto)
}

func appendL4(rng *rand.Rand, f []byte, proto byte) []byte {
	l4 := make([]byte, 8+rng.Intn(40))
	binary.BigEndian.PutUint16(l4, uint16(50000+rng.Intn(4)))
	binary.BigEndian.PutUint16(l4[2:], uint16(3478+rng.Intn(4)))
	if proto == protoTCP && len(l4) >= 20 {
		l4[12] = 0x50
		l4[13] = byte(rng.Intn(64))
	}
	return append(f, l4...)
}
