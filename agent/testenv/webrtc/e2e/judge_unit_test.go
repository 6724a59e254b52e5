package e2e

import (
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/agent/testenv/webrtc"
)

func rec(ssrc uint32, label string, packets uint64) record.Record {
	return record.Record{SSRC: &ssrc, PeerAddr: webrtc.MediaIP, Label: label, LabelReason: "rate", PacketsSent: packets}
}

func span(ssrc uint32, label string, end time.Time) otelcol.Span {
	return otelcol.Span{End: end, Attrs: map[string]any{"teamsflow.rtp.ssrc": int64(ssrc), "teamsflow.stream.label": label}}
}

// The judge's rules on made-up answers: a stream is right when every read
// after its first right label, the final read, the last span and analyze
// agree with the truth; streams of a handful of packets are not judged.
func TestJudgeRules(t *testing.T) {
	t0 := time.Now()
	tr := &webrtc.Truth{Started: t0, Streams: []webrtc.Stream{
		{SSRC: 1, Direction: webrtc.Sent, Label: "video", Role: webrtc.RoleMedia, Packets: 500}, // right
		{SSRC: 2, Direction: webrtc.Sent, Label: "audio", Role: webrtc.RoleMedia, Packets: 500}, // flips after right
		{SSRC: 3, Direction: webrtc.Recv, Label: "video", Role: webrtc.RoleRTX, Packets: 0},     // padding seen: judged
		{SSRC: 4, Direction: webrtc.Recv, Label: "screenshare", Role: webrtc.RoleMedia, Packets: 1},
		{SSRC: 5, Direction: webrtc.Recv, Label: "video", Role: webrtc.RoleMedia, Packets: 300}, // old span wrong
	}}
	reads := []read{
		{at: t0.Add(time.Second), recs: []record.Record{rec(1, "audio", 5), rec(2, "audio", 5)}},
		{at: t0.Add(2 * time.Second), recs: []record.Record{rec(1, "video", 9), rec(2, "video", 9), rec(5, "video", 9)}},
		{at: t0.Add(3 * time.Second), recs: []record.Record{rec(1, "video", 20), rec(2, "audio", 20), rec(3, "video", 20)}},
	}
	final := []record.Record{rec(1, "video", 30), rec(2, "audio", 30), rec(3, "video", 30), rec(4, "other", 1), rec(5, "video", 30)}
	spans := []otelcol.Span{span(1, "video", t0), span(2, "audio", t0), span(3, "video", t0),
		span(5, "video", t0), span(5, "other", t0.Add(time.Second))}
	vs := judge(tr, reads, final, final, spans)
	want := map[uint32]bool{1: true, 2: false, 3: true, 5: false}
	if len(vs) != len(want) {
		t.Fatalf("%d streams judged, want %d (ssrc 4 has too few packets)", len(vs), len(want))
	}
	for _, v := range vs {
		if v.right() != want[v.s.SSRC] {
			t.Errorf("ssrc %d: right %v, want %v: %s", v.s.SSRC, v.right(), want[v.s.SSRC], v)
		}
	}
	if c := vs[0].changes; len(c) != 2 || c[0].label != "audio" || c[1].label != "video" || c[1].after != 2*time.Second {
		t.Errorf("ssrc 1 changes %+v, want audio then video at 2s", c)
	}
	if r, n := accuracy(vs, webrtc.Sent, verdict.right); r != 1 || n != 2 {
		t.Errorf("sent accuracy %d/%d, want 1/2", r, n)
	}
}
