package classify_test

import (
	"fmt"
	"github.com/teamsflow/teamsflow/agent/record"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
	"github.com/teamsflow/teamsflow/agent/observe"
)

const sec = time.Second

// settleMedia runs a schedule through Life, Media and Settler at 1 s
// snapshots and returns the label shown after each snapshot.
func settleMedia(m classify.Media, pkts []ct.Packet, offset time.Duration, n int) []classify.Result {
	out, _ := settleMediaChanges(m, pkts, offset, n)
	return out
}

// settleMediaChanges is settleMedia that also returns the label changes
// after the label settled.
func settleMediaChanges(m classify.Media, pkts []ct.Packet, offset time.Duration, n int) ([]classify.Result, uint32) {
	c := classify.New(classify.DefaultQoSPorts())
	var l classify.Life
	var s classify.Settler
	var out []classify.Result
	for _, smp := range ct.Samples(pkts, offset, sec, n) {
		l.Add(smp)
		m.Features, m.Prev = l.Features(), s.Settled()
		out = append(out, s.Update(c.Media(m)))
	}
	return out, s.Changes()
}

// requireSettled checks that the label is want from snapshot `by` on.
func requireSettled(t *testing.T, name string, got []classify.Result, want, reason string, by int) {
	t.Helper()
	if len(got) <= by {
		t.Fatalf("%s: only %d snapshots", name, len(got))
	}
	for i := by; i < len(got); i++ {
		if got[i].Label != want || (reason != "" && got[i].Reason != reason) {
			t.Fatalf("%s: snapshot %d: %+v, want %s/%s; all: %v", name, i+1, got[i], want, reason, got)
		}
	}
}

// Rate alone (unknown PTs, no QoS ports, no relay ports: the zoom-negative
// and teams-for-linux cases), at several snapshot phases. Audio must
// settle within 2 s, video and screen share within 4 s.
func TestRateSettles(t *testing.T) {
	cases := []struct {
		name  string
		pkts  []ct.Packet
		want  string
		byIdx int // last allowed unsettled snapshot index
	}{
		{"audio opus 20ms", ct.Audio(50, 90, 160, 20*sec, 1), record.LabelAudio, 1},
		{"audio 60ms", ct.Audio(16.7, 90, 220, 20*sec, 2), record.LabelAudio, 1},
		{"audio whatsapp", ct.Audio(6.5, 147, 209, 20*sec, 3), record.LabelAudio, 1},
		{"audio skype 52pps", ct.Audio(52, 95, 105, 20*sec, 4), record.LabelAudio, 1},
		{"video 30fps 1200k", ct.Video(30, 1200, 1200, 3*sec, 20*sec, 5), record.LabelVideo, 3},
		{"video 24fps 600k", ct.Video(24, 600, 1200, 3*sec, 20*sec, 6), record.LabelVideo, 3},
		{"video 15fps 300k", ct.Video(15, 300, 1200, 3*sec, 20*sec, 7), record.LabelVideo, 3},
		{"video zoom 25fps 800k", ct.Video(25, 800, 1200, 3*sec, 20*sec, 8), record.LabelVideo, 3},
		{"share 5fps", ct.Share(5, 250, 1200, 2*sec, 800*time.Millisecond, 20*sec), record.LabelScreenshare, 3},
		{"share 10fps", ct.Share(10, 400, 1200, 2*sec, 800*time.Millisecond, 20*sec), record.LabelScreenshare, 3},
		{"share 15fps slow changes", ct.Share(15, 300, 1200, 3*sec, sec, 20*sec), record.LabelScreenshare, 3},
	}
	for _, c := range cases {
		for _, off := range []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 750 * time.Millisecond, 990 * time.Millisecond} {
			name := fmt.Sprintf("%s/offset %v", c.name, off)
			got := settleMedia(classify.Media{PayloadType: 98}, c.pkts, off, 15)
			requireSettled(t, name, got, c.want, classify.ReasonRate, c.byIdx)
		}
	}
}

func TestMediaReasonsInOrder(t *testing.T) {
	audio := ct.Audio(50, 90, 160, 10*sec, 1)
	video := ct.Video(30, 1000, 1200, 3*sec, 10*sec, 1)
	cases := []struct {
		name   string
		m      classify.Media
		pkts   []ct.Packet
		label  string
		reason string
	}{
		// 50036 -> relay :3478 carrying audio-looking packets is still video.
		{"qos wins", classify.Media{Teams: true, LocalPort: 50036, PeerPort: 3479, TeamsRelay: true, PayloadType: 104}, audio, record.LabelVideo, classify.ReasonQoSPort},
		{"qos needs teams", classify.Media{LocalPort: 50036, PayloadType: 104}, audio, record.LabelAudio, classify.ReasonRTPPT},
		// A browser's ephemeral port may fall in a QoS range: browsers ignore them.
		{"qos not for browsers", classify.Media{Teams: true, Browser: true, LocalPort: 50036, PayloadType: 111}, audio, record.LabelAudio, classify.ReasonRTPPT},
		{"silk", classify.Media{PayloadType: 104}, audio, record.LabelAudio, classify.ReasonRTPPT},
		{"opus", classify.Media{PayloadType: 111, PeerPort: 3480, TeamsRelay: true}, audio, record.LabelAudio, classify.ReasonRTPPT},
		{"relay port", classify.Media{PayloadType: 122, PeerPort: 3481, TeamsRelay: true}, video, record.LabelScreenshare, classify.ReasonRelayPort},
		{"relay port needs teams relay", classify.Media{PayloadType: 122, PeerPort: 3481}, video, record.LabelVideo, classify.ReasonRate},
		// A payload type that names audio does not overrule plain video.
		{"pt 111 on video", classify.Media{PayloadType: 111}, video, record.LabelVideo, classify.ReasonRate},
	}
	for _, c := range cases {
		got := settleMedia(c.m, c.pkts, 300*time.Millisecond, 6)
		requireSettled(t, c.name, got, c.label, c.reason, 5)
	}
}

func TestFlowLabels(t *testing.T) {
	c := classify.New(classify.DefaultQoSPorts())
	cases := []struct {
		name  string
		f     classify.Flow
		label string
	}{
		{"dns", classify.Flow{Transport: observe.UDP, PeerPort: 53}, record.LabelDNS},
		{"signalling", classify.Flow{Transport: observe.TCP, PeerPort: 443, TeamsPeer: true, Protos: observe.ProtoTLS}, record.LabelSignalling},
		{"github from teams", classify.Flow{Transport: observe.TCP, PeerPort: 443, Teams: true, Protos: observe.ProtoTLS}, record.LabelOther},
		{"another app's own signalling", classify.Flow{Transport: observe.TCP, PeerPort: 443, AppMedia: true, Protos: observe.ProtoTLS}, record.LabelSignalling},
		{"binding only", classify.Flow{Transport: observe.UDP, PeerPort: 3478, Protos: observe.ProtoSTUN}, record.LabelSTUN},
		{"allocate", classify.Flow{Transport: observe.UDP, PeerPort: 3478, Protos: observe.ProtoSTUN | observe.ProtoTURN}, record.LabelTURN},
		{"ms turn", classify.Flow{Transport: observe.UDP, PeerPort: 3478, Protos: observe.ProtoMSTURN}, record.LabelTURN},
		{"dtls", classify.Flow{Transport: observe.UDP, Protos: observe.ProtoDTLS}, record.LabelDTLS},
		{"webrtc media flow", classify.Flow{Transport: observe.UDP, Protos: observe.ProtoSTUN | observe.ProtoDTLS | observe.ProtoRTP, HasRTP: true}, record.LabelSTUN},
		{"media only", classify.Flow{Transport: observe.UDP, Protos: observe.ProtoRTP | observe.ProtoRTCP, HasRTP: true}, ""},
		{"rtcp only", classify.Flow{Transport: observe.UDP, Protos: observe.ProtoRTCP}, record.LabelRTCP},
		{"qos video socket, stun+rtcp", classify.Flow{Transport: observe.UDP, LocalPort: 50036, PeerPort: 3478, Teams: true, Protos: observe.ProtoSTUN | observe.ProtoRTCP}, record.LabelVideo},
		{"qos socket to relay, stun+rtcp", classify.Flow{Transport: observe.UDP, LocalPort: 50006, PeerPort: 3479, Teams: true, TeamsPeer: true, Protos: observe.ProtoSTUN | observe.ProtoRTCP}, record.LabelSTUN},
		{"qos socket ice check", classify.Flow{Transport: observe.UDP, LocalPort: 50016, PeerPort: 3478, Teams: true, Protos: observe.ProtoSTUN}, record.LabelSTUN},
		{"relay, unknown framing", classify.Flow{Transport: observe.UDP, PeerPort: 3478, TeamsPeer: true}, record.LabelTURN},
		{"quiet udp", classify.Flow{Transport: observe.UDP, PeerPort: 9999}, record.LabelOther},
	}
	for _, tc := range cases {
		if got := c.Flow(tc.f); got.Label != tc.label {
			t.Errorf("%s: %+v, want %s", tc.name, got, tc.label)
		}
	}
}

func TestSettlerHoldsAgainstOneOddInterval(t *testing.T) {
	var s classify.Settler
	audio := classify.Result{Label: record.LabelAudio, Reason: classify.ReasonRate, Confidence: 0.85}
	video := classify.Result{Label: record.LabelVideo, Reason: classify.ReasonRate, Confidence: 0.85}
	s.Update(audio)
	if s.Update(video).Label != record.LabelAudio || s.Update(audio).Label != record.LabelAudio {
		t.Fatal("one odd interval flipped the label")
	}
	s.Update(video)
	if s.Update(video).Label != record.LabelVideo {
		t.Fatal("two intervals in a row did not change the label")
	}
	guess := classify.Result{Label: record.LabelScreenshare, Reason: classify.ReasonRate, Confidence: 0.55}
	var fresh classify.Settler
	fresh.Update(guess)
	if fresh.Update(audio).Label != record.LabelAudio {
		t.Fatal("a provisional label must give way at once")
	}
	pt := classify.Result{Label: record.LabelAudio, Reason: classify.ReasonRTPPT, Confidence: 0.9}
	if s.Update(pt) != pt {
		t.Fatal("a stronger reason must win at once")
	}
}

func BenchmarkClassifyMedia(b *testing.B) {
	c := classify.New(classify.DefaultQoSPorts())
	samples := ct.Samples(ct.Video(30, 1200, 1200, 3*sec, 10*sec, 1), 300*time.Millisecond, sec, 10)
	var w classify.Window
	for _, s := range samples {
		w.Add(s)
	}
	m := classify.Media{PayloadType: 107, PeerPort: 3478}
	b.ReportAllocs()
	for b.Loop() {
		m.Features = w.Features()
		_ = c.Media(m)
	}
}
