package webrtc

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// A getStats() report as Chromium 156 posts it (trimmed to the fields the
// truth reads): the client's own streams come with their RTX SSRCs, the
// peer's RTX SSRC only from the peer.
const sampleReport = `[
 {"id":"OT01A1","type":"outbound-rtp","kind":"audio","mid":"0","ssrc":11,"codecId":"C1","packetsSent":500},
 {"id":"OT01V2","type":"outbound-rtp","kind":"video","mid":"1","ssrc":22,"rtxSsrc":23,"codecId":"C2","packetsSent":300,"retransmittedPacketsSent":4},
 {"id":"RI01V2","type":"remote-inbound-rtp","kind":"video","ssrc":22,"jitter":0.004,"packetsLost":7,"roundTripTime":0.021},
 {"id":"IT01A9","type":"inbound-rtp","kind":"audio","mid":"0","ssrc":99,"codecId":"C1","packetsReceived":480,"packetsLost":3,"jitter":0.002},
 {"id":"IT01V8","type":"inbound-rtp","kind":"video","mid":"2","ssrc":88,"codecId":"C2","packetsReceived":40},
 {"id":"C1","type":"codec","mimeType":"audio/opus"},
 {"id":"C2","type":"codec","mimeType":"video/VP8"},
 {"id":"T1","type":"transport","selectedCandidatePairId":"P1"},
 {"id":"P1","type":"candidate-pair","currentRoundTripTime":0.003,"localCandidateId":"L","remoteCandidateId":"R"},
 {"id":"L","type":"local-candidate","candidateType":"prflx"},
 {"id":"R","type":"remote-candidate","candidateType":"host"}
]`

func TestBuildTruth(t *testing.T) {
	var report []Stat
	if err := json.Unmarshal([]byte(sampleReport), &report); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{"0": "audio", "1": "video", "2": "screenshare"}
	peer := []SentTrack{{Mid: "2", Kind: "video", SSRC: 88, RTXSSRC: 89}, {Mid: "1", Kind: "video", SSRC: 77, RTXSSRC: 78}}
	got, err := buildTruth(report, roles, peer)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]Stream{
		11: {SSRC: 11, Direction: Sent, Label: "audio", Role: RoleMedia, Kind: "audio", Mid: "0", Codec: "audio/opus", Packets: 500},
		22: {SSRC: 22, Direction: Sent, Label: "video", Role: RoleMedia, Kind: "video", Mid: "1", Codec: "video/VP8", Packets: 300,
			JitterMs: 4, Lost: 7, RTTMs: 21},
		23: {SSRC: 23, Direction: Sent, Label: "video", Role: RoleRTX, Protects: 22, Kind: "video", Mid: "1", Packets: 4},
		99: {SSRC: 99, Direction: Recv, Label: "audio", Role: RoleMedia, Kind: "audio", Mid: "0", Codec: "audio/opus", Packets: 480,
			JitterMs: 2, Lost: 3},
		88: {SSRC: 88, Direction: Recv, Label: "screenshare", Role: RoleMedia, Kind: "video", Mid: "2", Codec: "video/VP8", Packets: 40},
		// The peer's RTX of a stream the client received; not 78, whose
		// media (77) never arrived.
		89: {SSRC: 89, Direction: Recv, Label: "screenshare", Role: RoleRTX, Protects: 88, Kind: "video", Mid: "2"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d streams, want %d: %+v", len(got), len(want), got)
	}
	for _, s := range got {
		w := want[s.SSRC]
		// Float fields from JSON seconds: compare to the microsecond.
		if s.JitterMs-w.JitterMs > 1e-6 || w.JitterMs-s.JitterMs > 1e-6 || s.RTTMs-w.RTTMs > 1e-6 || w.RTTMs-s.RTTMs > 1e-6 {
			t.Errorf("ssrc %d: jitter/rtt %v/%v, want %v/%v", s.SSRC, s.JitterMs, s.RTTMs, w.JitterMs, w.RTTMs)
		}
		s.JitterMs, s.RTTMs, w.JitterMs, w.RTTMs = 0, 0, 0, 0
		if s != w {
			t.Errorf("ssrc %d: %+v, want %+v", s.SSRC, s, w)
		}
	}
	if rtt, types := selectedPair(report); rtt < 2.999 || rtt > 3.001 || types != "prflx -> host" {
		t.Errorf("pair %v ms %q, want 3 ms prflx -> host", rtt, types)
	}
}

// A mid the page gave no role is an error, not a stream with no label.
func TestBuildTruthUnknownMid(t *testing.T) {
	_, err := buildTruth([]Stat{{Type: "inbound-rtp", Mid: "7", SSRC: 1}}, map[string]string{"0": "audio"}, nil)
	if err == nil {
		t.Fatal("no error for a mid without a role")
	}
}

func TestIsRTP(t *testing.T) {
	rtp := append([]byte{0x80, 111}, make([]byte, 10)...)
	rtcp := append([]byte{0x81, 200}, make([]byte, 10)...)
	stun := append([]byte{0x00, 0x01}, make([]byte, 18)...)
	dtls := append([]byte{22, 0xfe}, make([]byte, 10)...)
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{{"rtp", rtp, true}, {"rtcp", rtcp, false}, {"stun", stun, false}, {"dtls", dtls, false}, {"short", rtp[:8], false}} {
		if got := isRTP(c.b); got != c.want {
			t.Errorf("%s: isRTP %v, want %v", c.name, got, c.want)
		}
	}
}

// The impairment drops about the share asked of RTP each way, counts it,
// and lets everything else through.
func TestImpairedConnDrops(t *testing.T) {
	a, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ic := newImpairedConn(a, Impairment{DropOutPct: 20}, 1)
	rtp := append([]byte{0x80, 96}, make([]byte, 100)...)
	rtcp := append([]byte{0x80, 201}, make([]byte, 100)...)
	const n = 2000
	got := map[byte]int{}
	buf := make([]byte, 2048)
	// Each datagram that was not dropped is read before the next is sent,
	// so no socket buffer overflows.
	for i := range 2 * n {
		pkt, before := rtp, ic.droppedOut.Load()
		if i%2 == 1 {
			pkt = rtcp
		}
		if _, err := ic.WriteTo(pkt, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if ic.droppedOut.Load() != before {
			continue
		}
		_ = b.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := b.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		got[buf[1]]++
	}
	dropped := int(ic.droppedOut.Load())
	if got[201] != n {
		t.Errorf("%d RTCP datagrams arrived, want all %d", got[201], n)
	}
	if got[96]+dropped != n || dropped < n*15/100 || dropped > n*25/100 {
		t.Errorf("RTP: %d arrived, %d dropped of %d, want about 20%% dropped", got[96], dropped, n)
	}
}

func TestWithDTX(t *testing.T) {
	in := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
		"a=rtpmap:0 PCMU/8000\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fmtp:96 x=1\r\n"
	got := withDTX(in)
	want := strings.Replace(in, "useinbandfec=1\r\n", "useinbandfec=1;usedtx=1\r\n", 1)
	if got != want {
		t.Errorf("withDTX:\n%q\nwant\n%q", got, want)
	}
	if withDTX(got) != got {
		t.Error("withDTX added usedtx twice")
	}
}
