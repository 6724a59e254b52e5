package media

import (
	"testing"
	"time"
)

func frames(t *testing.T, g Generator) []Frame {
	t.Helper()
	var out []Frame
	for {
		f, ok := g.Next()
		if !ok {
			return out
		}
		if n := len(out); n > 0 && f.At < out[n-1].At {
			t.Fatalf("frame at %v after one at %v", f.At, out[n-1].At)
		}
		out = append(out, f)
	}
}

func inWindow(at, from, to time.Duration) bool { return at >= from && at < to }

func TestComfortNoisePause(t *testing.T) {
	fs := frames(t, New(stream(t, "{kind: audio, pauses: [{at: 2s, for: 3s, send: cn}]}"), 1))
	var cn, media int
	markedAfter := false
	for _, f := range fs {
		switch {
		case f.Sending == "cn":
			cn++
			if f.PayloadType != 13 || f.Sizes[0] < 23 || f.Sizes[0] > 33 || f.Segment != 1 || !inWindow(f.At, 2*time.Second, 5*time.Second) {
				t.Fatalf("comfort noise frame %+v", f)
			}
		case inWindow(f.At, 2*time.Second, 5*time.Second):
			t.Fatalf("media frame inside the pause: %+v", f)
		default:
			media++
			if f.At == 5*time.Second {
				markedAfter = f.Marker && f.Segment == 2
			} else if f.Marker {
				t.Errorf("marker on a packet inside a talkspurt at %v", f.At)
			}
		}
	}
	if cn != 30 || media != 350 || !markedAfter {
		t.Errorf("%d CN packets (want 30, one per 100 ms), %d media (want 350), talkspurt marked %v", cn, media, markedAfter)
	}
}

func TestOpusDTXPause(t *testing.T) {
	fs := frames(t, New(stream(t, "{kind: audio, payload_type: 111, pauses: [{at: 2s, for: 3s, send: dtx}]}"), 2))
	dtx := 0
	for _, f := range fs {
		if f.Sending == "dtx" {
			dtx++
			if f.PayloadType != 0 || f.Sizes[0] > 24 || f.Marker {
				t.Errorf("DTX frame %+v: want the stream's PT, 23-24 bytes, no marker", f)
			}
		}
	}
	if dtx != 8 {
		t.Errorf("%d DTX frames in 3 s, want 8 (one per 400 ms)", dtx)
	}
}

func TestVideoOffResumesWithKeyframe(t *testing.T) {
	fs := frames(t, New(stream(t, "{kind: video, fps: 30, bitrate_kbps: 900, keyframe_interval: 10s, pauses: [{at: 3s, for: 4s}]}"), 3))
	for i, f := range fs {
		if inWindow(f.At, 3*time.Second, 7*time.Second) {
			t.Fatalf("frame inside an off pause at %v", f.At)
		}
		if i > 0 && fs[i-1].At < 3*time.Second && f.At >= 7*time.Second {
			if !f.Key || len(f.Sizes) <= len(fs[i-1].Sizes) || f.Segment != 2 {
				t.Errorf("first frame after the pause: key %v, %d packets (before: %d), segment %d", f.Key, len(f.Sizes), len(fs[i-1].Sizes), f.Segment)
			}
		}
	}
	if len(fs) != 180 {
		t.Errorf("%d frames, want 180 (6 s at 30 fps)", len(fs))
	}
}

func TestStaticShareWithProbes(t *testing.T) {
	fs := frames(t, New(stream(t, "{kind: screenshare, fps: 5, pauses: [{at: 1s, for: 8s, send: static, fps: 2, probe_every: 2s}]}"), 4))
	var static, probes int
	staticTS := map[uint32]bool{}
	for _, f := range fs {
		switch {
		case f.Padding:
			probes++
			if len(f.Sizes) != 5 || f.Marker || f.Sizes[0] < 256 || f.Sizes[0] > 277 {
				t.Errorf("probe %+v: want 5 padding packets of 256-277 bytes, no marker", f)
			}
			if !staticTS[f.RTPTime] {
				t.Errorf("probe at %v carries timestamp %d, not the last frame's", f.At, f.RTPTime)
			}
		case f.Sending == "static":
			static++
			staticTS[f.RTPTime] = true
			if len(f.Sizes) != 1 || !f.Marker || f.Sizes[0] < 120 || f.Sizes[0] > 140 {
				t.Errorf("static frame %+v: want one marked packet of 120-140 bytes", f)
			}
		case inWindow(f.At, time.Second, 9*time.Second):
			t.Fatalf("regular frame inside the static pause at %v", f.At)
		}
	}
	if static != 16 || probes != 4 {
		t.Errorf("%d static frames (want 16: 8 s at 2 fps), %d probes (want 4: one per 2 s)", static, probes)
	}
}
