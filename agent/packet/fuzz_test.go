package packet

import (
	"math/rand"
	"testing"
)

// FuzzParse: no input makes the parser panic or read out of bounds, and
// a counted packet is TCP or UDP over IPv4 or IPv6.
func FuzzParse(f *testing.F) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 32; i++ {
		f.Add(randomFrame(rng), true)
	}
	f.Add([]byte{0x45, 0, 0, 20}, false)
	f.Fuzz(func(t *testing.T, data []byte, l2 bool) {
		p, res := Parse(data, l2, etherIPv4)
		if res != OK {
			return
		}
		if p.Protocol != protoTCP && p.Protocol != protoUDP || (p.Family != 4 && p.Family != 6) {
			t.Fatalf("counted a packet with protocol %d family %d", p.Protocol, p.Family)
		}
	})
}
