package packet

import (
	"math/rand"
	"testing"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// FuzzHints: the payload hints (STUN, TURN, ChannelData, DTLS, RTP, RTCP,
// DNS and ClientHello samples) never panic or read out of bounds, and what
// they count is consistent.
func FuzzHints(f *testing.F) {
	rng := rand.New(rand.NewSource(3))
	frames, egress := mediaFrames(rng)
	for i := 0; i < len(frames); i += 37 {
		f.Add(frames[i], egress[i])
	}
	f.Fuzz(func(t *testing.T, data []byte, out bool) {
		fl := NewFlows()
		for i := 0; i < 3; i++ {
			fl.Add(data, true, 0, out, 1, uint64(i+1)*20_000_000)
		}
		for k, s := range fl.RTP {
			if s.Packets == 0 || s.Packets > 3 || s.Markers > s.Packets || s.PayloadSquares < s.PayloadBytes {
				t.Fatalf("RTP source %+v: inconsistent %+v", k, *s)
			}
		}
		for _, s := range fl.Samples {
			if len(s.Data) == 0 || len(s.Data) > sampleMax || len(s.Data) > len(data) {
				t.Fatalf("sample of %d bytes from a %d-byte frame", len(s.Data), len(data))
			}
			if s.Kind != contract.SampleDNS && s.Kind != contract.SampleClientHello && s.Kind != contract.SampleSTUN {
				t.Fatalf("sample kind %d", s.Kind)
			}
		}
	})
}
