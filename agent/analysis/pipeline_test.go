package analysis

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

const sec = time.Second

func find(rs []record.Record, match func(r *record.Record) bool) *record.Record {
	for i := range rs {
		if match(&rs[i]) {
			return &rs[i]
		}
	}
	return nil
}

func bySSRC(ssrc uint32) func(r *record.Record) bool {
	return func(r *record.Record) bool { return r.SSRC != nil && *r.SSRC == ssrc }
}

func byFlow(local string, peer uint16) func(r *record.Record) bool {
	return func(r *record.Record) bool {
		return r.SSRC == nil && fmt.Sprintf("%s:%d", r.LocalAddr, r.LocalPort) == local && r.PeerPort == peer
	}
}

func expect(t *testing.T, rs []record.Record, what string, match func(*record.Record) bool, label, reason string) *record.Record {
	t.Helper()
	r := find(rs, match)
	if r == nil {
		t.Fatalf("%s: no record among %d", what, len(rs))
	}
	if r.Label != label || (reason != "" && r.LabelReason != reason) {
		t.Errorf("%s: %s/%s (%.2f), want %s/%s", what, r.Label, r.LabelReason, r.Confidence, label, reason)
	}
	return r
}

// desktopQoS is the simulator's desktop-qos call: ms-teams with QoS ports,
// DNS names through CNAME chains, TLS signalling, relay and ICE flows.
func desktopQoS(t testing.TB) *scene {
	teamsProc := ownerOf(proc(4242, "ms-teams", "msteams:system-initiated"))
	sc := &scene{}
	sc.payloads = append(sc.payloads,
		observe.Payload{Time: t0.Add(100 * time.Millisecond), Flow: udp("10.99.0.2:41000", "10.99.0.1:53"), Kind: observe.PayloadDNS,
			Data: dnsAnswer(t, "teams.microsoft.com", []string{"s-0001.s-msedge.net"}, "52.113.194.132")},
		observe.Payload{Time: t0.Add(100 * time.Millisecond), Flow: udp("10.99.0.2:41000", "10.99.0.1:53"), Kind: observe.PayloadDNS,
			Data: dnsAnswer(t, "api.cc.skype.com", []string{"api-cc-skype.trafficmanager.net", "a-cc-neu-01-skype.cloudapp.net"}, "20.42.65.92")})
	signalling := tcp("10.99.0.2:40100", "52.113.194.132:443")
	sc.payloads = append(sc.payloads, helloSegments(signalling, t0.Add(200*time.Millisecond), pkt.ClientHello(t, "teams.microsoft.com"), 700)...)
	sc.add(&sceneFlow{id: udp("10.99.0.2:41000", "10.99.0.1:53"), owner: teamsProc, protos: observe.ProtoDNS, end: 300 * time.Millisecond})
	sc.add(&sceneFlow{id: signalling, owner: teamsProc, protos: observe.ProtoTLS, start: 150 * time.Millisecond, ctrlPPS: 2})
	sc.add(&sceneFlow{id: tcp("10.99.0.2:40102", "20.42.65.92:443"), owner: teamsProc, protos: observe.ProtoTLS, start: 150 * time.Millisecond, ctrlPPS: 1})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50000", "52.114.250.10:3478"), owner: teamsProc, protos: observe.ProtoSTUN | observe.ProtoTURN, start: 400 * time.Millisecond, ctrlPPS: 0.5})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50000", "52.113.10.20:3478"), owner: teamsProc, protos: observe.ProtoSTUN, start: 500 * time.Millisecond, end: 2 * sec})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50000", "52.112.65.10:3479"), owner: teamsProc, protos: observe.ProtoSTUN | observe.ProtoRTCP, start: 600 * time.Millisecond, ctrlPPS: 1, dscp: 46}).
		media(1000, 104, ct.Audio(50, 90, 160, 60*sec, 1))
	sc.add(&sceneFlow{id: udp("10.99.0.2:50020", "52.112.65.10:3480"), owner: teamsProc, protos: observe.ProtoSTUN | observe.ProtoRTCP, start: 700 * time.Millisecond, ctrlPPS: 1, dscp: 34}).
		media(2000, 122, ct.Video(30, 1200, 1200, 3*sec, 60*sec, 2))
	sc.add(&sceneFlow{id: udp("10.99.0.2:50040", "52.112.65.10:3481"), owner: teamsProc, protos: observe.ProtoSTUN | observe.ProtoRTCP, start: 800 * time.Millisecond, ctrlPPS: 1, dscp: 18}).
		media(3000, 123, ct.Share(10, 400, 1200, 2*sec, 800*time.Millisecond, 60*sec))
	// The same process browsing elsewhere: Teams by process, not signalling.
	gh := tcp("10.99.0.2:40200", "140.82.112.3:443")
	sc.payloads = append(sc.payloads, helloSegments(gh, t0.Add(300*time.Millisecond), pkt.ClientHello(t, "github.com"), 1400)...)
	sc.add(&sceneFlow{id: gh, owner: teamsProc, protos: observe.ProtoTLS, start: 250 * time.Millisecond, ctrlPPS: 1})
	return sc
}

func TestDesktopQoSCall(t *testing.T) {
	sc := desktopQoS(t)
	p := New(Config{})
	ids := map[string]string{}
	sc.run(p, sec, 10*sec, func(at time.Duration) {
		for _, r := range p.Records(false) {
			key := fmt.Sprintf("%s:%d>%s:%d/%v", r.LocalAddr, r.LocalPort, r.PeerAddr, r.PeerPort, r.SSRC != nil && *r.SSRC > 0)
			if r.SSRC != nil {
				key += fmt.Sprint(*r.SSRC)
			}
			if old, ok := ids[key]; ok && old != r.StreamID {
				t.Fatalf("%s: stream id changed at %v", key, at)
			}
			ids[key] = r.StreamID
		}
	})
	rs := p.Records(false)
	sig := expect(t, rs, "signalling", byFlow("10.99.0.2:40100", 443), "signalling", "protocol")
	if sig.ServerName != "teams.microsoft.com" || !slices.Contains(sig.AppEvidence, "sni") {
		t.Errorf("signalling name %q evidence %v", sig.ServerName, sig.AppEvidence)
	}
	api := expect(t, rs, "api via DNS", byFlow("10.99.0.2:40102", 443), "signalling", "protocol")
	if api.ServerName != "api.cc.skype.com" || !slices.Contains(api.AppEvidence, "dns") || slices.Contains(api.AppEvidence, "dest_range") {
		t.Errorf("api name %q evidence %v", api.ServerName, api.AppEvidence)
	}
	other := expect(t, rs, "github", byFlow("10.99.0.2:40200", 443), "other", "")
	if other.App != "teams" || other.ServerName != "github.com" {
		t.Errorf("github: app %q name %q", other.App, other.ServerName)
	}
	expect(t, rs, "dns", byFlow("10.99.0.2:41000", 53), "dns", "protocol")
	expect(t, rs, "relay", func(r *record.Record) bool { return r.PeerAddr == "52.114.250.10" }, "turn", "protocol")
	expect(t, rs, "ice", func(r *record.Record) bool { return r.PeerAddr == "52.113.10.20" }, "stun", "protocol")
	expect(t, rs, "audio media flow", byFlow("10.99.0.2:50000", 3479), "stun", "protocol")
	for ssrc, label := range map[uint32]string{1000: "audio", 1001: "audio", 2000: "video", 2001: "video", 3000: "screenshare", 3001: "screenshare"} {
		r := expect(t, rs, fmt.Sprint("ssrc ", ssrc), bySSRC(ssrc), label, "qos_port")
		if r.App != "teams" || r.CallID == "" || r.CallID != sig.CallID {
			t.Errorf("ssrc %d: app %q call %q (signalling call %q)", ssrc, r.App, r.CallID, sig.CallID)
		}
	}
	if a := find(rs, bySSRC(1000)); a.DSCPSent != 46 || a.RateSentBps <= 0 || a.PacketsSent == 0 {
		t.Errorf("audio: dscp %d rate %.0f packets %d", a.DSCPSent, a.RateSentBps, a.PacketsSent)
	}
	if rs[0].Label != "signalling" || rs[0].CallID == "" {
		t.Errorf("first record %s/%q: want the call's signalling first", rs[0].Label, rs[0].CallID)
	}
}

// Media labels settle in time: audio within 2 s, video and share within 4 s.
func TestBrowserBundleSettles(t *testing.T) {
	chrome := ownerOf(proc(5000, "chrome", "--type=utility", "--utility-sub-type=network.mojom.NetworkService"),
		proc(4999, "chrome", "--profile-directory=Default", "--app=https://teams.microsoft.com/v2/"))
	sc := &scene{}
	start := 300 * time.Millisecond
	sc.add(&sceneFlow{id: udp("10.99.0.2:45000", "52.112.65.10:3478"), owner: chrome,
		protos: observe.ProtoSTUN | observe.ProtoDTLS | observe.ProtoRTCP, start: start, ctrlPPS: 1}).
		media(100, 111, ct.Audio(50, 90, 160, 30*sec, 3)).
		media(200, 107, ct.Video(30, 900, 1200, 3*sec, 30*sec, 4)).
		media(300, 127, ct.Share(5, 250, 1200, 2*sec, 800*time.Millisecond, 30*sec))
	// Another tab of the same browser: not Teams.
	sc.add(&sceneFlow{id: tcp("10.99.0.2:40300", "140.82.112.3:443"), owner: chrome, protos: observe.ProtoTLS, ctrlPPS: 3})
	p := New(Config{})
	want := map[uint32]struct {
		label string
		by    time.Duration
	}{100: {"audio", 2 * sec}, 101: {"audio", 2 * sec}, 200: {"video", 4 * sec}, 201: {"video", 4 * sec}, 300: {"screenshare", 4 * sec}, 301: {"screenshare", 4 * sec}}
	sc.run(p, sec, 20*sec, func(at time.Duration) {
		rs := p.Records(false)
		for ssrc, w := range want {
			r := find(rs, bySSRC(ssrc))
			if at-start >= w.by && (r == nil || r.Label != w.label) {
				t.Fatalf("at %v: ssrc %d is %+v, want %s", at, ssrc, r, w.label)
			}
		}
	})
	rs := p.Records(false)
	flow := expect(t, rs, "bundle flow", byFlow("10.99.0.2:45000", 3478), "stun", "protocol")
	if !slices.Equal(flow.AppEvidence, []string{"process", "dest_range", "relay_port"}) {
		t.Errorf("evidence %v", flow.AppEvidence)
	}
	if find(rs, byFlow("10.99.0.2:40300", 443)) != nil {
		t.Error("another browser tab listed as Teams")
	}
	if r := find(p.Records(true), byFlow("10.99.0.2:40300", 443)); r == nil || r.App != "" {
		t.Errorf("other tab with allApps: %+v", r)
	}
	if a, b := find(rs, bySSRC(100)), find(rs, bySSRC(300)); a.CallID == "" || a.CallID != b.CallID {
		t.Errorf("bundle calls %q %q", a.CallID, b.CallID)
	}
}

// The zoom-negative scenario: RTP media from a zoom process to Zoom's
// range is labelled but never Teams.
func TestZoomIsNotTeams(t *testing.T) {
	zoom := ownerOf(proc(6000, "zoom"))
	sc := &scene{}
	sc.payloads = append(sc.payloads, observe.Payload{Time: t0, Flow: udp("10.99.0.2:41001", "10.99.0.1:53"), Kind: observe.PayloadDNS,
		Data: dnsAnswer(t, "zoom.us", nil, "170.114.52.2")})
	sc.add(&sceneFlow{id: udp("10.99.0.2:41001", "10.99.0.1:53"), owner: zoom, protos: observe.ProtoDNS})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50010", "170.114.10.20:8801"), owner: zoom, start: 200 * time.Millisecond}).
		media(10, 112, ct.Audio(50, 90, 160, 30*sec, 5)).
		media(20, 98, ct.Video(25, 800, 1200, 3*sec, 30*sec, 6))
	p := New(Config{})
	sc.run(p, sec, 8*sec, nil)
	if rs := p.Records(false); len(rs) != 0 {
		t.Fatalf("zoom streams listed as Teams: %+v", rs[0])
	}
	all := p.Records(true)
	expect(t, all, "zoom audio", bySSRC(10), "audio", "rate")
	expect(t, all, "zoom video", bySSRC(20), "video", "rate")
	for _, r := range all {
		if r.App != "" || r.CallID != "" {
			t.Errorf("zoom record app %q call %q", r.App, r.CallID)
		}
	}
}

// In a capture file there are no owners: a peer-to-peer media flow is
// Teams because its socket also spoke to a Teams relay.
func TestCaptureP2PByCallEvidence(t *testing.T) {
	sc := &scene{}
	sc.add(&sceneFlow{id: udp("10.99.0.2:40000", "52.114.250.10:3478"), protos: observe.ProtoSTUN | observe.ProtoTURN, ctrlPPS: 0.5})
	sc.add(&sceneFlow{id: udp("10.99.0.2:40000", "198.51.100.20:50002"), protos: observe.ProtoSTUN | observe.ProtoRTCP, start: 500 * time.Millisecond, ctrlPPS: 1}).
		media(7, 111, ct.Audio(50, 90, 160, 30*sec, 7))
	// A different socket to the same participant has no Teams sibling.
	sc.add(&sceneFlow{id: udp("10.99.0.2:40001", "198.51.100.20:50022"), protos: observe.ProtoSTUN, ctrlPPS: 1})
	p := New(Config{})
	sc.run(p, sec, 6*sec, nil)
	rs := p.Records(false)
	a := expect(t, rs, "p2p audio", bySSRC(7), "audio", "rtp_pt")
	if !slices.Equal(a.AppEvidence, []string{"call"}) || a.CallID == "" {
		t.Errorf("p2p evidence %v call %q", a.AppEvidence, a.CallID)
	}
	if find(rs, byFlow("10.99.0.2:40001", 50022)) != nil {
		t.Error("unrelated socket became Teams")
	}
	if a.PID != 0 || a.UID != nil {
		t.Error("owner fields filled without an owner")
	}
}

func TestLossAndJitter(t *testing.T) {
	sc := &scene{}
	f := sc.add(&sceneFlow{id: udp("10.99.0.2:50001", "52.112.65.10:3479"), owner: ownerOf(proc(1, "ms-teams")), protos: observe.ProtoSTUN})
	f.media(1, 104, ct.Audio(50, 90, 160, 10*sec, 1))
	f.rtp[1].lost = 25
	p := New(Config{})
	sc.run(p, sec, 5*sec, nil)
	r := find(p.Records(false), bySSRC(2))
	if r == nil || r.RTPLost == nil || *r.RTPLost != 25 || r.RTPLossPct == nil || *r.RTPLossPct < 9 || *r.RTPLossPct > 11 || *r.RTPJitterMs != 3 {
		t.Fatalf("loss: %+v", r)
	}
}

func TestStreamEnds(t *testing.T) {
	teamsProc := ownerOf(proc(1, "ms-teams"))
	sc := &scene{}
	sc.add(&sceneFlow{id: tcp("10.99.0.2:40100", "52.113.194.132:443"), owner: teamsProc, protos: observe.ProtoTLS, ctrlPPS: 1, closedAt: 3 * sec, end: 3 * sec})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50000", "52.114.250.10:3478"), owner: teamsProc, protos: observe.ProtoSTUN, ctrlPPS: 1, end: 2 * sec})
	sc.add(&sceneFlow{id: udp("10.99.0.2:50001", "52.114.250.10:3478"), owner: teamsProc, protos: observe.ProtoSTUN, ctrlPPS: 1})
	p := New(Config{IdleTimeout: 5 * sec, Linger: 10 * sec})
	sc.run(p, sec, 4*sec, nil)
	closed := find(p.Records(false), byFlow("10.99.0.2:40100", 443))
	if closed == nil || closed.EndReason != "closed" || closed.RateSentBps != 0 {
		t.Fatalf("closed flow: %+v", closed)
	}
	sc.run(p, 5*sec, 12*sec, nil)
	idle := find(p.Records(false), byFlow("10.99.0.2:50000", 3478))
	if idle == nil || idle.EndReason != "idle" {
		t.Fatalf("idle flow: %+v", idle)
	}
	sc.run(p, 13*sec, 20*sec, nil)
	rs := p.Records(false)
	if find(rs, byFlow("10.99.0.2:40100", 443)) != nil {
		t.Error("closed flow still listed after the linger")
	}
	// Gone from the source: ended at once.
	gone := udp("10.99.0.2:50001", "52.114.250.10:3478")
	p.Observe(observe.Snapshot{Time: t0.Add(21 * sec), Gone: []observe.FlowID{gone}})
	if r := find(p.Records(false), byFlow("10.99.0.2:50001", 3478)); r == nil || r.EndReason != "idle" {
		t.Fatalf("gone UDP flow: %+v", r)
	}
	live := find(p.Records(false), byFlow("10.99.0.2:50001", 3478))
	// Traffic again after the end is a new stream; the old one lingers.
	sc.run(p, 22*sec, 22*sec, nil)
	var again []record.Record
	for _, r := range p.Records(false) {
		if byFlow("10.99.0.2:50001", 3478)(&r) {
			again = append(again, r)
		}
	}
	if len(again) != 2 || again[0].StreamID == again[1].StreamID || !slices.ContainsFunc(again, func(r record.Record) bool { return r.StreamID == live.StreamID && r.EndReason != "" }) {
		t.Fatalf("after restart: %+v", again)
	}
	p.Stop()
	for _, r := range p.Records(true) {
		if r.EndReason == "" {
			t.Errorf("running after Stop: %+v", r)
		}
	}
}

func TestBoundsAreCounted(t *testing.T) {
	sc := &scene{}
	for i := range 20 {
		sc.add(&sceneFlow{id: udp(fmt.Sprintf("10.99.0.2:%d", 30000+i), "192.0.2.1:9"), ctrlPPS: 1})
	}
	for i := range 5 {
		id := tcp(fmt.Sprintf("10.99.0.2:%d", 31000+i), "192.0.2.1:443")
		sc.payloads = append(sc.payloads, observe.Payload{Time: t0.Add(500 * time.Millisecond), Flow: id, Kind: observe.PayloadClientHello, Data: []byte{22, 3, 1, 2, 0, 1, 0, 1, 252}})
	}
	sc.payloads = append(sc.payloads, observe.Payload{Time: t0.Add(500 * time.Millisecond), Kind: observe.PayloadDNS, Data: []byte("not dns")})
	p := New(Config{MaxStreams: 10, MaxHelloBuffers: 2})
	sc.run(p, sec, 2*sec, nil)
	c := p.Counters()
	if c.StreamsDropped == 0 || c.HelloBuffersDropped != 3 || c.DNSErrors != 1 || len(p.Records(true)) > 10 {
		t.Fatalf("counters %+v, %d records", c, len(p.Records(true)))
	}
	// Out-of-order snapshots are ignored, not merged.
	p.Observe(observe.Snapshot{Time: t0, Flows: []observe.Flow{{ID: udp("10.99.0.2:1", "192.0.2.9:9")}}})
	if strings.Contains(fmt.Sprint(p.Records(true)), "192.0.2.9") {
		t.Error("an old snapshot was taken")
	}
}

// A connection that opened and closed between two snapshots is first
// seen closed: it is still named, attributed and labelled once, so it is
// listed (and exported) as an ended stream.
func TestFlowFirstSeenClosed(t *testing.T) {
	teamsProc := ownerOf(proc(1, "ms-teams"))
	id := tcp("10.99.0.2:40200", "52.113.194.132:443")
	p := New(Config{})
	at := t0.Add(sec)
	p.Observe(observe.Snapshot{Time: at, Flows: []observe.Flow{{
		ID: id, Owner: teamsProc, Closed: true, Protos: observe.ProtoTLS,
		Sent: observe.Counters{Packets: 6, Bytes: 900, First: at.Add(-500 * time.Millisecond), Last: at.Add(-100 * time.Millisecond)},
		Recv: observe.Counters{Packets: 5, Bytes: 4000, First: at.Add(-490 * time.Millisecond), Last: at.Add(-110 * time.Millisecond)},
	}}})
	r := find(p.Records(false), byFlow("10.99.0.2:40200", 443))
	if r == nil {
		t.Fatalf("the connection closed before the first snapshot is not listed: %+v", p.Records(true))
	}
	if r.Label != "signalling" || r.App != "teams" || r.EndReason != "closed" || r.BytesSent != 900 {
		t.Errorf("closed connection: label %q app %q end %q sent %d; want signalling, teams, closed, 900", r.Label, r.App, r.EndReason, r.BytesSent)
	}
}
