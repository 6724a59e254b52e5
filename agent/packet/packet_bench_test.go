package packet

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/pion/rtp"
	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// The Go twin per packet, on frames built with testenv/pkt (checked
// against gopacket) for the headers and real encoders for the rest (pion
// for RTP and STUN, miekg/dns for an answer): what
// `teamsflow analyze` pays for each packet of a capture.

var (
	benchClient   = netip.MustParseAddr("10.99.0.2")
	benchRelay    = netip.MustParseAddr("52.112.65.10")
	benchClient6  = netip.MustParseAddr("fd99::2")
	benchRelay6   = netip.MustParseAddr("2603:1063:4::10")
	benchResolver = netip.MustParseAddr("10.99.0.1")
)

// benchUDPFrame is Ethernet + IP + UDP around payload, from src to dst.
func benchUDPFrame(src, dst netip.Addr, sport, dport uint16, tos uint8, payload []byte) []byte {
	return pkt.Frame{Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(dst, dport), TOS: tos}.Build(payload)
}

// benchRTPStream is n consecutive SRTP-sized RTP packets of one source.
func benchRTPStream(tb testing.TB, n int, pt uint8, ssrc uint32, size int, tsStep uint32, markEvery int) [][]byte {
	tb.Helper()
	var out [][]byte
	for i := range n {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(1000 + i),
			Timestamp: uint32(i) * tsStep, SSRC: ssrc, Marker: markEvery > 0 && i%markEvery == 0},
			Payload: make([]byte, size)}
		raw, err := p.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func benchSTUNBinding(tb testing.TB) []byte {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("abcd:efgh"), stun.Fingerprint)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Raw
}

func benchDNSAnswer(tb testing.TB) []byte {
	m := new(dns.Msg)
	m.SetQuestion("teams.microsoft.com.", dns.TypeA)
	m.Response = true
	cname, _ := dns.NewRR("teams.microsoft.com. 60 IN CNAME s-0005.s-msedge.net.")
	a, _ := dns.NewRR("s-0005.s-msedge.net. 60 IN A 52.113.194.132")
	m.Answer = []dns.RR{cname, a}
	raw, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

type benchFrame struct {
	data   []byte
	egress bool
}

func benchFrames(tb testing.TB, kind string) []benchFrame {
	var out []benchFrame
	add := func(egress bool, data []byte) { out = append(out, benchFrame{data, egress}) }
	switch kind {
	case "rtp_audio_v4":
		for _, p := range benchRTPStream(tb, 500, 111, 0x1234, 120, 960, 0) {
			add(true, benchUDPFrame(benchClient, benchRelay, 50000, 3479, 46<<2, p))
		}
	case "rtp_video_v6":
		for _, p := range benchRTPStream(tb, 500, 102, 0x5678, 1180, 3000, 4) {
			add(false, benchUDPFrame(benchRelay6, benchClient6, 3480, 50020, 34<<2, p))
		}
	case "channeldata_rtp":
		for _, p := range benchRTPStream(tb, 500, 111, 0x9abc, 120, 960, 0) {
			add(true, benchUDPFrame(benchClient, benchRelay, 49417, 3478, 0, pkt.ChannelData(0x4000, p, true)))
		}
	case "stun":
		add(true, benchUDPFrame(benchClient, benchRelay, 50000, 3478, 46<<2, benchSTUNBinding(tb)))
	case "dns_answer":
		add(false, benchUDPFrame(benchResolver, benchClient, 53, 41000, 0, benchDNSAnswer(tb)))
	default:
		tb.Fatalf("no frames %q", kind)
	}
	return out
}

func BenchmarkTwinPerPacket(b *testing.B) {
	for _, kind := range []string{"rtp_audio_v4", "rtp_video_v6", "channeldata_rtp", "stun", "dns_answer"} {
		b.Run(kind, func(b *testing.B) {
			frames := benchFrames(b, kind)
			f := NewFlows()
			ts := uint64(1_000_000_000)
			for _, fr := range frames { // the flow and its sources exist, as mid-call
				ts += 20_000_000
				if _, res := f.Add(fr.data, true, 0, fr.egress, 1, ts); res != OK {
					b.Fatalf("%s: parse result %d", kind, res)
				}
			}
			checkTwinSaw(b, kind, f)
			b.ReportAllocs()
			b.SetBytes(int64(len(frames[0].data)))
			i := 0
			for b.Loop() {
				fr := frames[i%len(frames)]
				i++
				ts += 20_000_000
				f.Add(fr.data, true, 0, fr.egress, 1, ts)
				if len(f.Samples) > 1024 {
					f.Samples = f.Samples[:0] // analyze hands them on each second
				}
			}
		})
	}
}

// checkTwinSaw makes sure the frames took the path the benchmark names.
func checkTwinSaw(b *testing.B, kind string, f *Flows) {
	b.Helper()
	var protos uint16
	for _, s := range f.Stats {
		protos |= s.Protos
	}
	want := map[string]uint16{"rtp_audio_v4": contract.ProtoRTP, "rtp_video_v6": contract.ProtoRTP,
		"channeldata_rtp": contract.ProtoChannelData | contract.ProtoRTP, "stun": contract.ProtoSTUN, "dns_answer": contract.ProtoDNS}[kind]
	if protos&want != want || len(f.Stats) != 1 {
		b.Fatalf("%s: %d flows with protocols %#x, want one flow with %#x", kind, len(f.Stats), protos, want)
	}
	if want&contract.ProtoRTP != 0 && len(f.RTP) != 1 {
		b.Fatalf("%s: %d RTP sources, want 1", kind, len(f.RTP))
	}
	if kind == "dns_answer" && len(f.Samples) != 1 {
		b.Fatalf("dns: %d samples, want 1", len(f.Samples))
	}
}
