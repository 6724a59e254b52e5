package analysis

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
)

// stunHeader is a 20-byte STUN header of type typ with transaction ID id
// (RFC 8489 §5), what the kernel samples.
func stunHeader(typ uint16, id byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:2], typ)
	binary.BigEndian.PutUint32(b[4:8], 0x2112A442)
	for i := 8; i < 20; i++ {
		b[i] = id
	}
	return b
}

// checks adds ICE consent checks on flow every two seconds from at: a
// request sent, its success response rtt later.
func checks(flow observe.FlowID, from time.Duration, n int, rtt time.Duration, firstID byte) []observe.Payload {
	var out []observe.Payload
	for i := range n {
		at := t0.Add(from + time.Duration(i)*2*sec)
		id := firstID + byte(i)
		out = append(out,
			observe.Payload{Time: at, Flow: flow, Kind: observe.PayloadSTUN, Sent: true, Data: stunHeader(0x0001, id)},
			observe.Payload{Time: at.Add(rtt), Flow: flow, Kind: observe.PayloadSTUN, Data: stunHeader(0x0101, id)})
	}
	return out
}

func lossReason(r string) bool {
	return strings.HasPrefix(r, "loss 12.") && strings.HasSuffix(r, "% > 10%")
}

func near(got *float64, want, tol float64) bool { return got != nil && math.Abs(*got-want) <= tol }

// A desktop call with 12% loss on the received audio and consent checks
// answered in 40 ms: every record of the media flow carries the round
// trip; the received audio is poor by its loss, the sent one is judged by
// the round trip alone and shows no loss or jitter of its own.
func TestHealthOfADesktopCall(t *testing.T) {
	owner := ownerOf(proc(4242, "ms-teams"))
	sc := &scene{}
	audio := udp("10.99.0.2:50000", "52.112.65.10:3479")
	sc.add(&sceneFlow{id: audio, owner: owner, protos: observe.ProtoSTUN, ctrlPPS: 0.5, dscp: 46}).
		media(1000, 104, ct.Audio(50, 90, 160, 60*sec, 1))
	sc.flows[0].rtp[1].lost = 273 // 12% of the ~2273 packets expected over 40 s
	video := udp("10.99.0.2:50020", "52.112.65.10:3480")
	sc.add(&sceneFlow{id: video, owner: owner, protos: observe.ProtoSTUN, ctrlPPS: 0.5, dscp: 34}).
		media(2000, 122, ct.Video(30, 1200, 1200, 3*sec, 60*sec, 2))
	sc.payloads = append(sc.payloads, checks(audio, 1500*time.Millisecond, 19, 40*time.Millisecond, 1)...)
	p := New(Config{})
	sc.run(p, sec, 40*sec, nil)
	rs := p.Records(false)

	for _, r := range []*record.Record{find(rs, byFlow("10.99.0.2:50000", 3479)), find(rs, bySSRC(1000)), find(rs, bySSRC(1001))} {
		if r == nil || !near(r.RTTMs, 40, 0.01) {
			t.Fatalf("rtt of the audio flow's records: %+v", r)
		}
	}
	sent, recv := find(rs, bySSRC(1000)), find(rs, bySSRC(1001))
	if sent.RTPLost != nil || sent.RTPLossPct != nil || sent.RTPJitterMs != nil || sent.RTPDuplicates != nil || sent.MOS != nil {
		t.Errorf("sent audio shows receiver figures: lost %v pct %v jitter %v dups %v mos %v",
			sent.RTPLost, sent.RTPLossPct, sent.RTPJitterMs, sent.RTPDuplicates, sent.MOS)
	}
	if sent.Quality != "good" || sent.QualityCovers != "sent" {
		t.Errorf("sent audio: %s covering %q, %q", sent.Quality, sent.QualityCovers, sent.QualityReasons)
	}
	if recv.Quality != "poor" || recv.QualityCovers != "received" || !slices.ContainsFunc(recv.QualityReasons, lossReason) {
		t.Errorf("received audio: %s covering %q, %q", recv.Quality, recv.QualityCovers, recv.QualityReasons)
	}
	if recv.MOS == nil || *recv.MOS > 4 || recv.RTPDuplicates == nil || *recv.RTPDuplicates != 0 || !near(recv.RTPLossPct, 12, 0.5) {
		t.Errorf("received audio: mos %v dups %v loss %v", recv.MOS, recv.RTPDuplicates, recv.RTPLossPct)
	}
	for _, r := range []*record.Record{sent, recv} {
		if r.Codec != "SILK" || r.DSCPExpected == nil || *r.DSCPExpected != 46 || r.FramesPerSec != nil {
			t.Errorf("audio ssrc %d: codec %q dscp_expected %v fps %v", *r.SSRC, r.Codec, r.DSCPExpected, r.FramesPerSec)
		}
	}
	// Video: no checks on its flow, so no round trip; 30 frames/s.
	v := find(rs, bySSRC(2001))
	if v.RTTMs != nil || !near(v.FramesPerSec, 30, 1.5) || v.Quality != "good" || v.Codec != "dynamic:122" || *v.DSCPExpected != 34 {
		t.Errorf("received video: rtt %v fps %v quality %s %q codec %q", v.RTTMs, v.FramesPerSec, v.Quality, v.QualityReasons, v.Codec)
	}
	if s := find(rs, bySSRC(2000)); s.Quality != "unknown" || s.RTPLossPct != nil {
		t.Errorf("sent video: %s %q loss %v", s.Quality, s.QualityReasons, s.RTPLossPct)
	}
	if c := p.Counters().STUN; c.Samples != 19 || c.Unmatched+c.Duplicates+c.Late+c.ReusedIDs+c.NotSTUN != 0 {
		t.Errorf("STUN counters %+v", c)
	}
}

// Checks that cannot give a true round trip give none and are counted:
// a response without a request, a duplicated one, a late one, a request
// that reused an answered ID, bytes that are not STUN.
func TestSTUNBadInputThroughThePipeline(t *testing.T) {
	sc := &scene{}
	flow := udp("10.99.0.2:50000", "52.112.65.10:3479")
	sc.add(&sceneFlow{id: flow, owner: ownerOf(proc(1, "ms-teams")), protos: observe.ProtoSTUN, ctrlPPS: 1})
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	stun := func(d time.Duration, sent bool, typ uint16, id byte) observe.Payload {
		return observe.Payload{Time: at(d), Flow: flow, Kind: observe.PayloadSTUN, Sent: sent, Data: stunHeader(typ, id)}
	}
	sc.payloads = []observe.Payload{
		stun(1100*time.Millisecond, false, 0x0101, 9), // unmatched
		stun(2100*time.Millisecond, true, 0x0001, 1),
		stun(8100*time.Millisecond, false, 0x0101, 1), // 6 s later: late
		stun(9100*time.Millisecond, true, 0x0001, 2),
		stun(9150*time.Millisecond, false, 0x0101, 2), // the one true sample: 50 ms
		stun(9200*time.Millisecond, false, 0x0101, 2), // duplicate
		stun(10100*time.Millisecond, true, 0x0001, 2), // reused ID
		stun(10110*time.Millisecond, false, 0x0101, 2),
		{Time: at(11100 * time.Millisecond), Flow: flow, Kind: observe.PayloadSTUN, Data: make([]byte, 24)}, // no magic cookie
	}
	p := New(Config{})
	sc.run(p, sec, 12*sec, nil)
	c := p.Counters().STUN
	if c.Samples != 1 || c.Unmatched != 1 || c.Late != 1 || c.Duplicates != 1 || c.ReusedIDs != 1 || c.Retransmitted != 1 || c.NotSTUN != 1 {
		t.Errorf("counters %+v", c)
	}
	if r := find(p.Records(false), byFlow("10.99.0.2:50000", 3479)); r == nil || !near(r.RTTMs, 50, 0.01) {
		t.Errorf("rtt from the one good sample: %+v", r)
	}
}

// A flow that ended and lingered out takes its round trip state with it.
func TestSTUNStateForgottenWithItsFlow(t *testing.T) {
	sc := &scene{}
	flow := udp("10.99.0.2:50000", "52.112.65.10:3479")
	sc.add(&sceneFlow{id: flow, owner: ownerOf(proc(1, "ms-teams")), protos: observe.ProtoSTUN, ctrlPPS: 1, end: 5 * sec})
	sc.payloads = checks(flow, 1500*time.Millisecond, 2, 30*time.Millisecond, 1)
	p := New(Config{IdleTimeout: 5 * sec, Linger: 5 * sec})
	sc.run(p, sec, 4*sec, nil)
	if _, ok := p.stun.RTT(flow); !ok {
		t.Fatal("no round trip while the flow runs")
	}
	sc.run(p, 5*sec, 20*sec, nil)
	if _, ok := p.stun.RTT(flow); ok || p.flows.get(flow) != nil {
		t.Error("the ended flow's round trip is still kept")
	}
}

// Loss is shown within 0-100% whatever the counters say, and the anomaly
// is counted once per stream.
func TestLossClampedAndCounted(t *testing.T) {
	for _, c := range []struct {
		name     string
		lost     int64
		dups     uint64
		wantLost int64
		anomaly  uint64
	}{
		{"duplicates", -20, 20, 0, 0},
		{"below zero beyond duplicates", -4000, 0, 0, 1},
		{"above expected", 1 << 40, 0, -1, 1}, // -1: all expected
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := &scene{}
			f := sc.add(&sceneFlow{id: udp("10.99.0.2:50001", "52.112.65.10:3479"), owner: ownerOf(proc(1, "ms-teams")), protos: observe.ProtoSTUN})
			f.media(1, 104, ct.Audio(50, 90, 160, 20*sec, 1))
			p := New(Config{})
			for at := sec; at <= 12*sec; at += sec {
				s := sc.snapshot(at)
				for i := range s.RTP {
					if !s.RTP[i].Sent {
						s.RTP[i].Lost, s.RTP[i].Duplicates = c.lost, c.dups
					}
				}
				p.Observe(s)
			}
			r := find(p.Records(false), bySSRC(2))
			want := c.wantLost
			if want < 0 {
				want = int64(r.PacketsRecv) // the scene's expected: packets + 0 lost
			}
			if r.RTPLost == nil || *r.RTPLost != want || *r.RTPLossPct < 0 || *r.RTPLossPct > 100 {
				t.Errorf("lost %v pct %v, want %d within 0-100%%", r.RTPLost, r.RTPLossPct, want)
			}
			if got := p.Counters().LossOutOfRange; got != c.anomaly {
				t.Errorf("anomalies counted %d, want %d", got, c.anomaly)
			}
		})
	}
}

// fakePaths stands in for the agent's sock_diag and rtnetlink reads.
type fakePaths struct {
	rtt  map[observe.FlowID]time.Duration
	kind string
}

func (f fakePaths) TCPRTT(id observe.FlowID) (time.Duration, bool) {
	d, ok := f.rtt[id]
	return d, ok
}

func (f fakePaths) InterfaceKind(observe.FlowID) string { return f.kind }

// Live paths: a TCP flow's round trip is the kernel's; media through a
// VPN interface says so, and only media does.
func TestPathsFromTheAgent(t *testing.T) {
	sc := desktopQoS(t)
	sig := tcp("10.99.0.2:40100", "52.113.194.132:443")
	p := New(Config{Paths: fakePaths{rtt: map[observe.FlowID]time.Duration{sig: 23500 * time.Microsecond}, kind: "vpn"}})
	sc.run(p, sec, 10*sec, nil)
	rs := p.Records(false)
	if r := find(rs, byFlow("10.99.0.2:40100", 443)); !near(r.RTTMs, 23.5, 0.001) || r.InterfaceKind != "vpn" || r.PathWarning != "" {
		t.Errorf("signalling: rtt %v kind %q warning %q", r.RTTMs, r.InterfaceKind, r.PathWarning)
	}
	if r := find(rs, byFlow("10.99.0.2:40102", 443)); r.RTTMs != nil {
		t.Errorf("a TCP flow without a kernel estimate has rtt %v", *r.RTTMs)
	}
	for _, ssrc := range []uint32{1000, 1001, 2000, 3001} {
		if r := find(rs, bySSRC(ssrc)); r.InterfaceKind != "vpn" || r.PathWarning == "" {
			t.Errorf("ssrc %d: kind %q warning %q", ssrc, r.InterfaceKind, r.PathWarning)
		}
	}
	// Without paths (analyze) both stay absent.
	q := New(Config{})
	desktopQoS(t).run(q, sec, 10*sec, nil)
	for _, r := range q.Records(false) {
		if r.InterfaceKind != "" || (r.Transport == "tcp" && r.RTTMs != nil) {
			t.Errorf("%s:%d without paths: kind %q rtt %v", r.PeerAddr, r.PeerPort, r.InterfaceKind, r.RTTMs)
		}
	}
}

// A Teams media flow none of whose packets read as RTP (here the desktop
// client's audio QoS port, where only RTCP and the ICE checks read as
// anything): the flow record itself carries a verdict judged by the round
// trip alone, covering the path; a flow with RTP sources leaves the
// verdict to them.
func TestMediaFlowWithoutRTPJudgedByItsPath(t *testing.T) {
	owner := ownerOf(proc(4242, "ms-teams"))
	sc := &scene{}
	relay := udp("10.99.0.2:50010", "93.71.110.205:16332")
	sc.add(&sceneFlow{id: relay, owner: owner, protos: observe.ProtoRTCP, ctrlPPS: 50})
	sc.payloads = append(sc.payloads, checks(relay, 1500*time.Millisecond, 14, 620*time.Millisecond, 1)...)
	p := New(Config{})
	sc.run(p, sec, 30*sec, nil)
	r := find(p.Records(false), byFlow("10.99.0.2:50010", 16332))
	if r == nil || r.Label != record.LabelAudio {
		t.Fatalf("audio flow: %+v", r)
	}
	if r.Quality != "poor" || r.QualityCovers != "path" || !slices.ContainsFunc(r.QualityReasons, func(s string) bool { return strings.HasPrefix(s, "rtt 6") }) {
		t.Errorf("audio without RTP: %s covering %q, %q (rtt %v)", r.Quality, r.QualityCovers, r.QualityReasons, r.RTTMs)
	}
	if r.RTPLossPct != nil || r.RTPJitterMs != nil || r.MOS != nil || r.DSCPExpected == nil || *r.DSCPExpected != 46 {
		t.Errorf("audio without RTP: loss %v jitter %v mos %v dscp_expected %v", r.RTPLossPct, r.RTPJitterMs, r.MOS, r.DSCPExpected)
	}

	// The desktop call's media flows have RTP: their flow records stay
	// without a verdict, their sources carry one each.
	q := New(Config{})
	desktopQoS(t).run(q, sec, 10*sec, nil)
	for _, r := range q.Records(false) {
		if r.SSRC == nil && r.Quality != "" {
			t.Errorf("flow %s:%d with RTP sources judged itself: %s", r.PeerAddr, r.PeerPort, r.Quality)
		}
	}
}
