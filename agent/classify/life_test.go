package classify_test

import (
	"github.com/teamsflow/teamsflow/agent/record"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
)

// without drops the packets sent in [from, to): a camera off, a silent
// participant, a share stopped.
func without(pkts []ct.Packet, from, to time.Duration) []ct.Packet {
	var out []ct.Packet
	for _, p := range pkts {
		if p.At < from || p.At >= to {
			out = append(out, p)
		}
	}
	return out
}

// probes adds padding-only packets (Chromium's bandwidth probes: ~250 B,
// no marker, the last frame's timestamp) every gap, in bursts of n.
func probes(pkts []ct.Packet, gap time.Duration, n int, dur time.Duration) []ct.Packet {
	var extra []ct.Packet
	for at := gap / 2; at < dur; at += gap {
		ts := uint32(0)
		for _, p := range pkts {
			if p.At <= at {
				ts = p.TS
			}
		}
		for range n {
			extra = append(extra, ct.Packet{At: at, Payload: 250, TS: ts, PadOnly: true})
		}
	}
	return ct.Merge(pkts, extra)
}

// A stream's label holds through pauses and early stops: the final label
// is what its active life showed, and a settled label never changes.
func TestLabelHoldsThroughPausesAndStops(t *testing.T) {
	audio := ct.Audio(50, 90, 160, 40*sec, 1)
	video := ct.Video(30, 1200, 1200, 3*sec, 40*sec, 2)
	share := ct.Share(5, 250, 1200, 2*sec, 800*time.Millisecond, 40*sec)
	cases := []struct {
		name string
		pkts []ct.Packet
		want string
	}{
		{"camera off mid-call", without(video, 8*sec, 30*sec), record.LabelVideo},
		{"camera stops early", without(video, 10*sec, 40*sec), record.LabelVideo},
		{"participant silent", without(audio, 5*sec, 35*sec), record.LabelAudio},
		{"audio stops early", without(audio, 6*sec, 40*sec), record.LabelAudio},
		{"share stopped early", without(share, 9*sec, 40*sec), record.LabelScreenshare},
		{"share paused", without(share, 6*sec, 30*sec), record.LabelScreenshare},
	}
	for _, c := range cases {
		got, changes := settleMediaChanges(classify.Media{PayloadType: 98}, c.pkts, 300*time.Millisecond, 40)
		requireSettled(t, c.name, got, c.want, classify.ReasonRate, 4)
		if changes != 0 {
			t.Errorf("%s: %d label changes", c.name, changes)
		}
	}
}

// The RTP structure decides where sizes mislead.
func TestLabelFromRTPStructure(t *testing.T) {
	// A static share: one small marked packet per frame at 1-2 fps.
	var static []ct.Packet
	for at := time.Duration(0); at < 30*sec; at += 700 * time.Millisecond {
		static = append(static, ct.Packet{At: at, Payload: 118, Marker: true, TS: uint32(at.Seconds() * ct.VideoClock)})
	}
	// Audio with the marker bit on every packet for its first 3 s.
	marked := ct.Audio(50, 90, 160, 30*sec, 3)
	for i := range marked {
		marked[i].Marker = marked[i].At < 3*sec
	}
	// An almost static share with padding probes (no RTX): small frames
	// that once looked like audio and probes that once looked like video.
	probed := probes(static, 100*time.Millisecond, 3, 30*sec)
	// A camera at 15 fps under load: small frames, one packet each.
	loaded := ct.Video(15, 150, 1200, 3*sec, 30*sec, 4)
	cases := []struct {
		name string
		pkts []ct.Packet
		want string
		by   int
	}{
		{"static share, small marked frames", static, record.LabelScreenshare, 4},
		{"audio marked at first", marked, record.LabelAudio, 1},
		{"static share with padding probes", probed, record.LabelScreenshare, 4},
		{"camera 15 fps one packet a frame", loaded, record.LabelVideo, 3},
	}
	for _, c := range cases {
		got, changes := settleMediaChanges(classify.Media{PayloadType: 96}, c.pkts, 400*time.Millisecond, 30)
		requireSettled(t, c.name, got, c.want, classify.ReasonRate, c.by)
		if changes != 0 {
			t.Errorf("%s: %d label changes: %v", c.name, changes, got)
		}
	}
}

// A share animated at exactly the frame-rate bound, and on both sides of
// it, settles once and stays: the band keeps one crossing from flipping it.
func TestShareAtTheBoundDoesNotFlip(t *testing.T) {
	for _, fps := range []float64{5, 6, 6.5, 7} {
		var pkts []ct.Packet
		for i := 0; ; i++ {
			at := time.Duration(float64(i) / fps * float64(sec))
			if at >= 60*sec {
				break
			}
			// A little jitter in the frame rate: frames late by up to 40 ms.
			at += time.Duration(i%5) * 10 * time.Millisecond
			pkts = append(pkts, ct.Packet{At: at, Payload: 900, Marker: true, TS: uint32(float64(i) / fps * ct.VideoClock)})
		}
		got, changes := settleMediaChanges(classify.Media{PayloadType: 96}, pkts, 500*time.Millisecond, 60)
		if changes != 0 {
			t.Errorf("%.1f fps: %d label changes: %v", fps, changes, got)
		}
		if fps <= 5 {
			requireSettled(t, "5 fps share", got, record.LabelScreenshare, classify.ReasonRate, 4)
		}
	}
}

// Comfort noise at the end does not hide the codec: the pipeline passes
// the main payload type, and the label by codec stays.
func TestCodecLabelNeedsEvidence(t *testing.T) {
	c := classify.New(classify.DefaultQoSPorts())
	one := classify.Media{PayloadType: 111, Features: classify.Features{Packets: 1, Seconds: 0.01, Intervals: 1, Life: true, HasShape: true}}
	if r := c.Media(one); r.Label == record.LabelAudio {
		t.Errorf("one packet of PT 111 is audio: %+v", r)
	}
	video := classify.Media{PayloadType: 111, Features: classify.Features{Packets: 900, Seconds: 10, Intervals: 10, Life: true,
		HasShape: true, Clock: 90000, MeanPayload: 1000, PacketsPerSec: 90, FramesPerSec: 30, MarkerRatio: 0.33}}
	if r := c.Media(video); r.Label != record.LabelVideo {
		t.Errorf("PT 111 at a 90 kHz clock: %+v, want video", r)
	}
}
