package exporter

import (
	"fmt"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

// scriptedStream is one stream of a synthetic but realistic Teams call: the
// desktop client's signalling over TLS, ICE/STUN to the relay, and audio,
// video and screen share from the QoS port ranges to the relay ports.
type scriptedStream struct {
	rec        record.Record
	from, till time.Duration // life since the call's start; till 0: still running
	reason     string        // end_reason when it ends
}

const (
	testCallID = "call-7f3a"
	teamsPID   = 4242
)

func u32(v uint32) *uint32   { return &v }
func u8(v uint8) *uint8      { return &v }
func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }

func teamsStream(id, transport string, lport, pport uint16, label, reason string) record.Record {
	return record.Record{
		Kind: "stream", Transport: transport, Family: "ipv4",
		LocalAddr: "10.20.0.5", LocalPort: lport, PeerAddr: "52.115.62.17", PeerPort: pport,
		PID: teamsPID, Comm: "ms-teams", Thread: "MediaIO", Exe: "/opt/microsoft/teams/ms-teams", UID: u32(0), PPID: 4200,
		App: "teams", AppEvidence: []string{"process", "dest_range"},
		Label: label, LabelReason: reason, Confidence: 0.9,
		CallID: testCallID, StreamID: id,
	}
}

func media(id string, lport, pport uint16, label string, ssrc uint32, pt, dscp uint8) record.Record {
	r := teamsStream(id, "udp", lport, pport, label, "qos_port")
	r.SSRC, r.RTPPayloadType, r.DSCPSent = u32(ssrc), u8(pt), dscp
	r.RTPLost, r.RTPLossPct, r.RTPJitterMs = i64(3), f64(0.4), f64(4.5)
	return r
}

// teamsCall is one call; video runs on past the end of the script, so the
// agent's stop ends it. A Firefox flow must stay out unless AllApps is set.
func teamsCall() []scriptedStream {
	sig := teamsStream("s-sig", "tcp", 40112, 443, "signalling", "protocol")
	sig.PeerAddr, sig.ServerName, sig.AppEvidence = "52.113.194.132", "teams.microsoft.com", []string{"process", "sni"}
	stun := teamsStream("s-stun", "udp", 50000, 3478, "stun", "protocol")
	firefox := record.Record{
		Kind: "stream", Transport: "tcp", Family: "ipv4", LocalAddr: "10.20.0.5", LocalPort: 41000,
		PeerAddr: "93.184.216.34", PeerPort: 443, PID: 5151, Comm: "firefox", Exe: "/usr/lib/firefox/firefox",
		Label: "other", LabelReason: "none", StreamID: "s-firefox",
	}
	return []scriptedStream{
		{rec: sig, from: 0, till: 12 * time.Second, reason: "closed"},
		{rec: stun, from: 500 * time.Millisecond, till: 2 * time.Second, reason: "idle"},
		{rec: media("s-audio", 50010, 3479, "audio", 0x1111, 111, 46), from: time.Second, till: 11 * time.Second, reason: "closed"},
		{rec: media("s-video", 50025, 3480, "video", 0x2222, 107, 34), from: time.Second},
		{rec: media("s-share", 50045, 3481, "screenshare", 0x3333, 122, 18), from: 3 * time.Second, till: 9 * time.Second, reason: "closed"},
		{rec: firefox, from: 0, till: 10 * time.Second, reason: "closed"},
	}
}

// recordsAt is what the agent lists at base+at: running streams, and ended
// ones for 30 s after their end, as the pipeline does.
func recordsAt(script []scriptedStream, base time.Time, at time.Duration) []record.Record {
	var recs []record.Record
	for _, s := range script {
		if at < s.from || (s.till != 0 && at > s.till+30*time.Second) {
			continue
		}
		r := s.rec
		last := at
		if s.till != 0 && at >= s.till {
			last, r.EndReason = s.till, s.reason
		}
		secs := uint64((last - s.from) / time.Second)
		r.FirstSeen, r.LastSeen = base.Add(s.from), base.Add(last)
		r.PacketsSent, r.PacketsRecv = 50*secs, 48*secs
		r.BytesSent, r.BytesRecv = 50*secs*160, 48*secs*160
		recs = append(recs, r)
	}
	return recs
}

// playCall observes the call once a second from 0 to end.
func playCall(observe func(time.Time, []record.Record), base time.Time, end time.Duration) {
	script := teamsCall()
	for at := time.Duration(0); at <= end; at += time.Second {
		observe(base.Add(at), recordsAt(script, base, at))
	}
}

// shortStreams are n Teams streams outside any call that each end at once:
// one span each, for tests that need many spans.
func shortStreams(prefix string, n int, now time.Time) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		r := teamsStream(fmt.Sprintf("%s-%d", prefix, i), "udp", uint16(20000+i%40000), 3478, "stun", "protocol")
		r.CallID, r.EndReason = "", "closed"
		r.FirstSeen, r.LastSeen = now.Add(-time.Second), now
		recs[i] = r
	}
	return recs
}
