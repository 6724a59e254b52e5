package health

import (
	"reflect"
	"testing"
)

func TestCodec(t *testing.T) {
	cases := []struct {
		pt    uint8
		stack Stack
		want  string
	}{
		{0, StackUnknown, "PCMU"},
		{8, StackWebRTC, "PCMA"},
		{9, StackTeams, "G722"},
		{18, StackUnknown, "G729"},
		{34, StackUnknown, "H263"},
		{103, StackTeams, "SILK"},
		{104, StackTeams, "SILK"},
		{111, StackWebRTC, "opus"},
		// The same numbers from another stack are not those codecs.
		{111, StackTeams, "dynamic:111"},
		{104, StackWebRTC, "dynamic:104"},
		{103, StackUnknown, "dynamic:103"},
		{96, StackWebRTC, "dynamic:96"},
		{127, StackUnknown, "dynamic:127"},
		{2, StackUnknown, "unassigned:2"},
		{72, StackUnknown, "unassigned:72"},
	}
	for _, c := range cases {
		if got := Codec(c.pt, c.stack); got != c.want {
			t.Errorf("Codec(%d, %d) = %q, want %q", c.pt, c.stack, got, c.want)
		}
	}
}

func TestDSCPExpected(t *testing.T) {
	for label, want := range map[string]uint8{"audio": 46, "video": 34, "screenshare": 18} {
		if got, ok := DSCPExpected(label); !ok || got != want {
			t.Errorf("DSCPExpected(%q) = %d, %v; want %d", label, got, ok, want)
		}
	}
	for _, label := range []string{"signalling", "stun", "rtcp", "dns", "other", ""} {
		if _, ok := DSCPExpected(label); ok {
			t.Errorf("DSCPExpected(%q) is set; the QoS policy does not mark it", label)
		}
	}
}

func TestAssess(t *testing.T) {
	cases := []struct {
		name    string
		in      Stream
		quality string
		reasons []string
		basis   []string
		mos     bool
	}{
		{
			name:    "received audio, healthy",
			in:      Stream{Label: "audio", Direction: Received, Codec: "opus", Packets: 3000, LossRate: ptr(0.01), JitterMs: ptr(8), RTTMs: ptr(60)},
			quality: Good, basis: []string{"rtt", "loss", "jitter", "mos"}, mos: true,
		},
		{
			name:    "received audio, every threshold",
			in:      Stream{Label: "audio", Direction: Received, Codec: "opus", Packets: 3000, LossRate: ptr(0.12), JitterMs: ptr(35.2), RTTMs: ptr(612)},
			quality: Poor, basis: []string{"rtt", "loss", "jitter", "mos"}, mos: true,
			// Ta = 306 + 70.4 + 20 = 396.4, X = log2(3.964) = 1.98696:
			// Idd = 25*(1.99224 - 3*1.013598 + 2) = 23.786; Ie-eff = 1140/37.1 = 30.727;
			// R = 38.687; MOS = 1 + 1.35405 - 0.35388 = 2.00017; 4.40929 - 2.00017 = 2.41.
			reasons: []string{"rtt 612 ms > 500 ms", "loss 12.0% > 10%", "jitter 35.2 ms > 30 ms", "estimated mos degradation 2.41 > 1.0"},
		},
		{
			name:    "received audio at every CQD threshold, poor by the estimated degradation",
			in:      Stream{Label: "audio", Direction: Received, Codec: "SILK", Packets: 501, LossRate: ptr(0.10), JitterMs: ptr(30), RTTMs: ptr(500)},
			quality: Poor, basis: []string{"rtt", "loss", "jitter", "mos"}, mos: true,
			// Each CQD threshold is strict (>), but the E-model sees
			// Ta = 250 + 60 + 20 = 330, X = log2(3.3) = 1.72247:
			// Idd = 25*(1.73326 - 3*1.005883 + 2) = 17.890; Ie-eff = 950/35.1 = 27.0655;
			// R = 48.2445; MOS = 1 + 1.68856 - 0.205468 = 2.48309; degradation 1.93.
			reasons: []string{"estimated mos degradation 1.93 > 1.0"},
		},
		{
			name:    "received audio exactly at the thresholds, no jitter and so no MOS: good",
			in:      Stream{Label: "audio", Direction: Received, Packets: 501, LossRate: ptr(0.10), RTTMs: ptr(500)},
			quality: Good, basis: []string{"rtt", "loss"},
		},
		{
			name:    "received audio, too few packets",
			in:      Stream{Label: "audio", Direction: Received, Codec: "opus", Packets: 500, LossRate: ptr(0.5), JitterMs: ptr(2)},
			quality: Unknown, reasons: []string{"500 packets, CQD classifies audio above 500"}, mos: true,
		},
		{
			name:    "audio flow without readable RTP: the path's rtt decides, loss and jitter ignored",
			in:      Stream{Label: "audio", Direction: Path, Packets: 3000, LossRate: ptr(0.5), JitterMs: ptr(90), RTTMs: ptr(620)},
			quality: Poor, basis: []string{"rtt"}, reasons: []string{"rtt 620 ms > 500 ms"},
		},
		{
			name:    "video flow without readable RTP: unknown",
			in:      Stream{Label: "video", Direction: Path, Packets: 3000, RTTMs: ptr(20), FramesPerSec: ptr(30)},
			quality: Unknown, reasons: []string{"path video: CQD judges video by what its receiver gets"},
		},
		{
			name:    "sent audio: loss and jitter are ignored, rtt decides",
			in:      Stream{Label: "audio", Direction: Sent, Packets: 3000, LossRate: ptr(0.5), JitterMs: ptr(90), RTTMs: ptr(80)},
			quality: Good, basis: []string{"rtt"},
		},
		{
			name:    "sent audio, rtt over",
			in:      Stream{Label: "audio", Direction: Sent, Packets: 3000, RTTMs: ptr(720)},
			quality: Poor, basis: []string{"rtt"}, reasons: []string{"rtt 720 ms > 500 ms"},
		},
		{
			name:    "sent audio, nothing measured",
			in:      Stream{Label: "audio", Direction: Sent, Packets: 3000},
			quality: Unknown, reasons: []string{"no metric measured for a sent audio stream"},
		},
		{
			name:    "received video, frame rate decides before loss",
			in:      Stream{Label: "video", Direction: Received, Packets: 9000, FramesPerSec: ptr(15), LossRate: ptr(0.4)},
			quality: Good, basis: []string{"frame_rate"},
		},
		{
			name:    "received video, low frame rate",
			in:      Stream{Label: "video", Direction: Received, Packets: 9000, FramesPerSec: ptr(5)},
			quality: Poor, basis: []string{"frame_rate"}, reasons: []string{"frame rate 5.0 fps < 7 fps"},
		},
		{
			name:    "received video without frame rate, loss decides",
			in:      Stream{Label: "video", Direction: Received, Packets: 9000, LossRate: ptr(0.16)},
			quality: Poor, basis: []string{"loss"}, reasons: []string{"loss 16.0% > 15% (before FEC)"},
		},
		{
			name:    "screen share at 3 fps is good (VBSS threshold 2)",
			in:      Stream{Label: "screenshare", Direction: Received, FramesPerSec: ptr(3)},
			quality: Good, basis: []string{"frame_rate"},
		},
		{
			name:    "screen share at 1 fps",
			in:      Stream{Label: "screenshare", Direction: Received, FramesPerSec: ptr(1)},
			quality: Poor, basis: []string{"frame_rate"}, reasons: []string{"frame rate 1.0 fps < 2 fps"},
		},
		{
			name:    "sent video",
			in:      Stream{Label: "video", Direction: Sent, FramesPerSec: ptr(30), RTTMs: ptr(40)},
			quality: Unknown, reasons: []string{"sent video: CQD judges video by what its receiver gets"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Assess(c.in)
			if v.Quality != c.quality || !reflect.DeepEqual(v.Reasons, c.reasons) || !reflect.DeepEqual(v.Basis, c.basis) {
				t.Errorf("got %s %q basis %q; want %s %q basis %q", v.Quality, v.Reasons, v.Basis, c.quality, c.reasons, c.basis)
			}
			if (v.MOS != nil) != c.mos {
				t.Errorf("mos set = %v, want %v", v.MOS != nil, c.mos)
			}
			if v.Label != c.in.Label || v.Covers != c.in.Direction {
				t.Errorf("label/covers = %s/%s, want %s/%s", v.Label, v.Covers, c.in.Label, c.in.Direction)
			}
		})
	}
}

func TestAssessNonMedia(t *testing.T) {
	for _, label := range []string{"signalling", "stun", "rtcp", ""} {
		if v := Assess(Stream{Label: label, Direction: Received, Packets: 1000, LossRate: ptr(0.5)}); !reflect.DeepEqual(v, Verdict{}) {
			t.Errorf("%q got a verdict %+v", label, v)
		}
	}
}

func TestCallVerdict(t *testing.T) {
	good := Verdict{Label: "audio", Covers: Received, Quality: Good}
	unknown := Verdict{Label: "video", Covers: Sent, Quality: Unknown, Reasons: []string{"x"}}
	poor := Verdict{Label: "video", Covers: Received, Quality: Poor, Reasons: []string{"frame rate 5.0 fps < 7 fps"}}
	cases := []struct {
		name    string
		in      []Verdict
		quality string
		reasons []string
	}{
		{"all good", []Verdict{good, good, {}}, Good, nil},
		{"good and unknown", []Verdict{good, unknown}, Good, nil},
		{"one poor", []Verdict{good, poor, unknown}, Poor, []string{"video received: frame rate 5.0 fps < 7 fps"}},
		{"nothing classified", []Verdict{unknown, {}}, Unknown, []string{"no media stream could be classified"}},
		{"no streams", nil, Unknown, []string{"no media stream could be classified"}},
	}
	for _, c := range cases {
		v := CallVerdict(c.in)
		if v.Quality != c.quality || !reflect.DeepEqual(v.Reasons, c.reasons) {
			t.Errorf("%s: got %s %q, want %s %q", c.name, v.Quality, v.Reasons, c.quality, c.reasons)
		}
	}
}

func TestAssessRejectsImpossibleInput(t *testing.T) {
	nan := 0.0
	nan /= nan
	v := Assess(Stream{Label: "audio", Direction: Received, Codec: "opus", Packets: 3000,
		LossRate: ptr(-0.2), JitterMs: ptr(nan), RTTMs: ptr(80)})
	want := []string{"loss -0.20 outside 0..1", "jitter NaN: negative, infinite or not a number"}
	if !reflect.DeepEqual(v.Rejected, want) {
		t.Errorf("rejected %q, want %q", v.Rejected, want)
	}
	// Only the valid rtt is left to judge; without loss and jitter no MOS.
	if v.Quality != Good || !reflect.DeepEqual(v.Basis, []string{"rtt"}) || v.MOS != nil {
		t.Errorf("verdict %+v", v)
	}
	if v := Assess(Stream{Label: "video", Direction: Received, LossRate: ptr(1.5)}); v.Quality != Unknown || len(v.Rejected) != 1 {
		t.Errorf("loss 150%%: %+v", v)
	}
}
