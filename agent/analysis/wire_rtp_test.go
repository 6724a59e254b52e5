package analysis_test

import (
	"github.com/teamsflow/teamsflow/agent/record"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/classify"
)

// opus adds 20 ms Opus packets (48 kHz) from..to; damage may drop,
// repeat or reorder them (it returns the packets to send for one).
func (w *wire) opus(out bool, ssrc uint32, pt uint8, seq0 uint16, ts0 uint32, from, to time.Duration) {
	for i := 0; from+time.Duration(i)*20*time.Millisecond < to; i++ {
		at := from + time.Duration(i)*20*time.Millisecond
		w.send(at, out, rtp(ssrc, pt, seq0+uint16(i), ts0+uint32(i)*960, i == 0, 80+i%40, 0))
	}
}

// camera adds fps video frames of n packets (90 kHz) from..to and returns
// each frame's timestamp and time.
func (w *wire) camera(out bool, ssrc uint32, pt uint8, seq0 uint16, ts0 uint32, fps float64, n int, from, to time.Duration) (tss []uint32, ats []time.Duration) {
	seq := seq0
	for i := 0; ; i++ {
		at := from + time.Duration(float64(i)/fps*float64(time.Second))
		if at >= to {
			return tss, ats
		}
		ts := ts0 + uint32(float64(i)/fps*90000)
		for k := range n {
			w.send(at+time.Duration(k)*time.Millisecond, out, rtp(ssrc, pt, seq, ts, k == n-1, 1100, 0))
			seq++
		}
		tss, ats = append(tss, ts), append(ats, at)
	}
}

// Damaged RTP: truncated, reordered and duplicated packets, a sequence
// wrap and a jump, and the same SSRC in both directions carrying other
// media. Counted, never a crash, and no label changes.
func TestDamagedRTP(t *testing.T) {
	var w wire
	w.opus(true, 0x1111, 111, 65000, 7, 0, 30*time.Second) // wraps its sequence at 10.7 s
	w.camera(false, 0x1111, 96, 100, 99, 30, 3, 0, 30*time.Second)
	for i := range 40 { // duplicates and late copies of sent audio
		at := time.Duration(i) * 700 * time.Millisecond
		seq := 65000 + uint16(at/(20*time.Millisecond))
		w.send(at+5*time.Millisecond, true, rtp(0x1111, 111, seq, 7+uint32(at/(20*time.Millisecond))*960, false, 90, 0))
		w.send(at+90*time.Millisecond, true, rtp(0x1111, 111, seq-3, 7+uint32(at/(20*time.Millisecond)-3)*960, false, 90, 0))
		w.send(at+7*time.Millisecond, true, []byte{0x80, 111, 0, 1, 0}) // truncated: not RTP
	}
	// A jump: the sender skips 1000 sequence numbers at 20 s.
	w.opus(true, 0x2222, 0, 500, 1, 0, 20*time.Second)
	w.opus(true, 0x2222, 0, 500+1000+1000, 1+1000*160, 20*time.Second, 30*time.Second)
	_, rs := w.analyse(t, analysis.Config{})
	byS := rtpRecords(rs)
	want := map[uint32]map[bool]string{0x1111: {true: record.LabelAudio, false: record.LabelVideo}, 0x2222: {true: record.LabelAudio}}
	for ssrc, dirs := range want {
		for sent, label := range dirs {
			found := false
			for _, r := range byS[ssrc] {
				if (r.PacketsSent > 0) != sent {
					continue
				}
				found = true
				if r.Label != label || r.LabelChanges != 0 {
					t.Errorf("ssrc %#x sent %v: %s (%s), %d changes; want %s, no changes", ssrc, sent, r.Label, r.LabelReason, r.LabelChanges, label)
				}
			}
			if !found {
				t.Errorf("ssrc %#x sent %v: no record among %d", ssrc, sent, len(rs))
			}
		}
	}
}

// Chromium's RTX next to its video: padding-only probes carry the last
// media timestamp plus the time since, retransmissions the timestamp of
// the packet they repeat; the RTX stream is reported with its video, not
// as a stream of its own.
func TestRTXReportedWithItsMedia(t *testing.T) {
	var w wire
	w.opus(true, 0xA0, 111, 1, 123456, 0, 20*time.Second)
	tss, ats := w.camera(true, 0xB0, 96, 9, 3_000_000_000, 30, 3, 0, 20*time.Second)
	seq := uint16(40000)
	for i := 0; i < len(tss); i += 3 {
		if i%30 == 0 { // a burst of probes every second
			for range 5 {
				w.send(ats[i]+2*time.Millisecond, true, rtp(0xB1, 97, seq, tss[i]+180, false, 0, 224))
				seq++
			}
		}
		if i%45 == 0 && i >= 10 { // a retransmission of a packet 10 frames old
			w.send(ats[i]+3*time.Millisecond, true, rtp(0xB1, 97, seq, tss[i-10], false, 1102, 0))
			seq++
		}
	}
	_, rs := w.analyse(t, analysis.Config{})
	byS := rtpRecords(rs)
	for ssrc, want := range map[uint32][3]string{0xA0: {record.LabelAudio, "media"}, 0xB0: {record.LabelVideo, "media"}, 0xB1: {record.LabelVideo, "rtx"}} {
		if len(byS[ssrc]) != 1 {
			t.Fatalf("ssrc %#x: %d records", ssrc, len(byS[ssrc]))
		}
		r := byS[ssrc][0]
		if r.Label != want[0] || r.RTPRole != want[1] {
			t.Errorf("ssrc %#x: %s %s, want %s %s", ssrc, r.Label, r.RTPRole, want[0], want[1])
		}
	}
	if r := byS[0xB1][0]; r.RTPProtects == nil || *r.RTPProtects != 0xB0 {
		t.Errorf("rtx protects %v, want 0xb0", r.RTPProtects)
	}
}

// A source that resumes after its stream ended (idle) is a new stream
// with its own first_seen and counters; comfort noise at the end of a
// call does not hide the codec.
func TestSourceRestartAndComfortNoise(t *testing.T) {
	var w wire
	w.opus(true, 0xC0, 111, 10, 10, 0, 10*time.Second)
	w.opus(true, 0xC0, 111, 10+500, 10+(30*50)*960, 30*time.Second, 40*time.Second)
	for i := range 100 { // CN (RFC 3389) every 100 ms after the talk
		w.send(40*time.Second+time.Duration(i)*100*time.Millisecond, true, rtp(0xC0, 13, 10+1000+uint16(i), 10+(40*50)*960+uint32(i)*4800, false, 1, 0))
	}
	_, rs := w.analyse(t, analysis.Config{IdleTimeout: 10 * time.Second})
	got := rtpRecords(rs)[0xC0]
	if len(got) != 2 {
		t.Fatalf("%d records, want the first stream and the resumed one", len(got))
	}
	if got[0].FirstSeen.After(got[1].FirstSeen) {
		got[0], got[1] = got[1], got[0]
	}
	first, second := got[0], got[1]
	if first.EndReason != analysis.EndIdle || first.PacketsSent != 500 {
		t.Errorf("first stream: ended %q with %d packets, want idle with 500", first.EndReason, first.PacketsSent)
	}
	if d := second.FirstSeen.Sub(first.FirstSeen); d < 29*time.Second || d > 31*time.Second {
		t.Errorf("resumed stream starts %v after the first, want ~30 s", d)
	}
	// A sent stream: its loss is the far receiver's to measure, never 0.
	if second.PacketsSent != 600 || second.RTPLost != nil {
		t.Errorf("resumed stream: %d packets, lost %v; want its own 600 and no loss figure", second.PacketsSent, second.RTPLost)
	}
	for _, r := range got {
		if r.Label != record.LabelAudio || r.LabelReason != classify.ReasonRTPPT || *r.RTPPayloadType != 111 {
			t.Errorf("%s (%s) pt %d, want audio by rtp_pt, pt 111", r.Label, r.LabelReason, *r.RTPPayloadType)
		}
	}
}

// A source that sends a packet or two, then nothing for longer than a
// candidate may wait (a share's first frames, an RTX probe), is looked at
// again when it sends more, and becomes a stream then.
func TestQuietCandidateAdmittedLater(t *testing.T) {
	var w wire
	w.opus(true, 0xD0, 111, 1, 1, 0, 40*time.Millisecond)
	w.opus(true, 0xD0, 111, 3, 1+2*960+500*960, 10*time.Second, 20*time.Second)
	w.opus(false, 0xD1, 111, 1, 1, 0, 20*time.Second) // keeps the flow alive
	p, rs := w.analyse(t, analysis.Config{})
	if got := rtpRecords(rs)[0xD0]; len(got) != 1 || got[0].Label != record.LabelAudio {
		t.Fatalf("records of the late source: %+v", got)
	}
	if c := p.Counters(); c.RTPRejected != 1 {
		t.Errorf("%d rejections counted, want the one silent candidate", c.RTPRejected)
	}
}
