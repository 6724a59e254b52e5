// Package health judges the health of Teams media streams the way Microsoft's
// Call Quality Dashboard (CQD) does, from what teamsflow measures on the
// endpoint: codec names from RTP payload types, good/poor verdicts by CQD's
// published poor-stream thresholds, an E-model network MOS for audio, and the
// DSCP Microsoft's QoS policy expects. Pure functions; see README.md.
package health

import (
	"fmt"
	"github.com/teamsflow/teamsflow/agent/record"
	"math"
)

// Direction says which way a stream flows as seen from this host, and so
// which metrics exist for it: loss and jitter of a received stream are
// measured here; a sent stream's are measured only by its receiver.
type Direction string

// Directions.
const (
	Received Direction = "received"
	Sent     Direction = "sent"
	// Path is a media flow none of whose packets read as RTP: both
	// directions' loss and jitter are unknown here, and only the round
	// trip judges it.
	Path Direction = "path"
)

// Qualities (the record's `quality`).
const (
	Good    = "good"
	Poor    = "poor"
	Unknown = "unknown"
)

// Call Quality Dashboard's poor-stream thresholds, from Microsoft Learn
// "Stream Classification in Call Quality Dashboard" (audio, video and VBSS
// classifiers; learn.microsoft.com/microsoftteams/stream-classification-in-call-quality-dashboard).
// VBSS, video-based screen sharing, is how Teams shares screens.
const (
	AudioMinPackets     = 500   // audio is classified only above this many packets
	AudioMaxRTTMs       = 500.0 // Round Trip > 500
	AudioMaxLossRate    = 0.10  // Packet Loss Rate > 0.1
	AudioMaxJitterMs    = 30.0  // Jitter > 30
	AudioMaxDegradation = 1.0   // Audio Degradation Avg > 1.0 (network MOS)
	VideoMinFPS         = 7.0   // Video Frame Rate Avg < 7
	ScreenshareMinFPS   = 2.0   // VBSS Video Frame Rate Avg < 2
	VideoMaxLossRate    = 0.15  // Video Post FECPLR > 0.15
)

// Stream is what a verdict needs. Pointers are metrics that may be missing;
// a missing metric is never read as 0.
type Stream struct {
	Label     string // audio, video or screenshare; others get no verdict
	Direction Direction
	Codec     string // as Codec names it (audio MOS only)
	Packets   uint64 // RTP packets of the stream in its direction
	// LossRate (0..1) and JitterMs are RFC 3550 receiver figures; they are
	// ignored for sent streams, where this host cannot measure them.
	LossRate *float64
	JitterMs *float64
	// RTTMs is the path's round trip (STUN checks or the kernel's TCP
	// estimate); it holds for both directions.
	RTTMs *float64
	// FramesPerSec is the video frame rate from RTP marker bits.
	FramesPerSec *float64
}

// Verdict is one stream's (or call's) classification.
type Verdict struct {
	Label   string    `json:"label,omitempty"`
	Covers  Direction `json:"covers,omitempty"` // the direction judged
	Quality string    `json:"quality,omitempty"`
	// Reasons name each breached threshold ("loss 12.0% > 10%") of a poor
	// verdict, or why the verdict is unknown.
	Reasons []string `json:"quality_reasons,omitempty"`
	// Basis lists the metrics the verdict rests on (rtt, loss, jitter,
	// mos, frame_rate), so a good sent stream says it was judged by rtt alone.
	Basis []string `json:"quality_basis,omitempty"`
	// MOS is the estimated network MOS of a received audio stream.
	MOS *float64 `json:"mos,omitempty"`
	// Rejected names input metrics that were out of range and so were not
	// used ("loss -0.20 outside 0..1"), for the caller to count and log.
	Rejected []string `json:"-"`
}

// Assess classifies one stream by CQD's classifier for its label. Streams
// that are not media get a zero Verdict (no quality field at all).
func Assess(s Stream) Verdict {
	if s.Direction == Sent || s.Direction == Path {
		s.LossRate, s.JitterMs = nil, nil
	}
	rejected := sanitize(&s)
	var v Verdict
	switch s.Label {
	case record.LabelAudio:
		v = assessAudio(s)
	case record.LabelVideo:
		v = assessVideo(s, VideoMinFPS)
	case record.LabelScreenshare:
		v = assessVideo(s, ScreenshareMinFPS)
	default:
		return Verdict{}
	}
	v.Rejected = rejected
	return v
}

// sanitize drops metrics no measurement can give (NaN, infinite, negative,
// a loss fraction above 1): a bug upstream must not decide a verdict.
func sanitize(s *Stream) (rejected []string) {
	for _, m := range []struct {
		name string
		v    **float64
		max  float64
	}{
		{"loss", &s.LossRate, 1}, {"jitter", &s.JitterMs, math.MaxFloat64},
		{"rtt", &s.RTTMs, math.MaxFloat64}, {"frame rate", &s.FramesPerSec, math.MaxFloat64},
	} {
		if *m.v == nil {
			continue
		}
		x := **m.v
		switch {
		case m.max == 1 && !(x >= 0 && x <= 1):
			rejected = append(rejected, fmt.Sprintf("%s %.2f outside 0..1", m.name, x))
		case !(x >= 0 && x <= m.max): // NaN fails both comparisons
			rejected = append(rejected, fmt.Sprintf("%s %.2f: negative, infinite or not a number", m.name, x))
		default:
			continue
		}
		*m.v = nil
	}
	return rejected
}

// assessAudio: CQD marks audio poor when any threshold breaks, once the
// stream has more than 500 packets.
func assessAudio(s Stream) Verdict {
	v := Verdict{Label: s.Label, Covers: s.Direction}
	if s.LossRate != nil && s.JitterMs != nil {
		mos := NetworkMOS(MOSInput{Codec: s.Codec, LossRate: *s.LossRate, JitterMs: *s.JitterMs, RTTMs: s.RTTMs})
		v.MOS = &mos
	}
	if s.Packets <= AudioMinPackets {
		return v.unknown(fmt.Sprintf("%d packets, CQD classifies audio above %d", s.Packets, AudioMinPackets))
	}
	if s.RTTMs != nil {
		v.check("rtt", *s.RTTMs > AudioMaxRTTMs, fmt.Sprintf("rtt %.0f ms > %.0f ms", *s.RTTMs, AudioMaxRTTMs))
	}
	if s.LossRate != nil {
		v.check("loss", *s.LossRate > AudioMaxLossRate,
			fmt.Sprintf("loss %.1f%% > %.0f%%", *s.LossRate*100, AudioMaxLossRate*100))
	}
	if s.JitterMs != nil {
		v.check("jitter", *s.JitterMs > AudioMaxJitterMs, fmt.Sprintf("jitter %.1f ms > %.0f ms", *s.JitterMs, AudioMaxJitterMs))
	}
	if v.MOS != nil {
		d := MOSDegradation(MOSInput{Codec: s.Codec, LossRate: *s.LossRate, JitterMs: *s.JitterMs, RTTMs: s.RTTMs})
		v.check("mos", d > AudioMaxDegradation, fmt.Sprintf("estimated mos degradation %.2f > %.1f", d, AudioMaxDegradation))
	}
	return v.settle(s.Direction)
}

// assessVideo follows CQD's video and VBSS classifiers: the first available
// metric decides. Local frame loss (step 1) is known only to the client, so
// the frame rate decides, or without it the packet loss (CQD uses the loss
// after FEC; the loss seen here is before FEC, so it can only overstate).
// Both describe what a receiver gets: a sent stream stays unknown.
func assessVideo(s Stream, minFPS float64) Verdict {
	v := Verdict{Label: s.Label, Covers: s.Direction}
	if s.Direction == Sent || s.Direction == Path {
		return v.unknown(string(s.Direction) + " " + s.Label + ": CQD judges video by what its receiver gets")
	}
	switch {
	case s.FramesPerSec != nil:
		v.check("frame_rate", *s.FramesPerSec < minFPS,
			fmt.Sprintf("frame rate %.1f fps < %.0f fps", *s.FramesPerSec, minFPS))
	case s.LossRate != nil:
		v.check("loss", *s.LossRate > VideoMaxLossRate,
			fmt.Sprintf("loss %.1f%% > %.0f%% (before FEC)", *s.LossRate*100, VideoMaxLossRate*100))
	}
	return v.settle(s.Direction)
}

// check records that metric was judged and, when it breaks its threshold, why.
func (v *Verdict) check(metric string, breached bool, reason string) {
	v.Basis = append(v.Basis, metric)
	if breached {
		v.Reasons = append(v.Reasons, reason)
	}
}

// settle turns the checks into a quality: poor on any breach, good when at
// least one metric was judged, unknown when none was available.
func (v Verdict) settle(d Direction) Verdict {
	switch {
	case len(v.Reasons) > 0:
		v.Quality = Poor
	case len(v.Basis) > 0:
		v.Quality = Good
	default:
		return v.unknown(fmt.Sprintf("no metric measured for a %s %s stream", d, v.Label))
	}
	return v
}

func (v Verdict) unknown(reason string) Verdict {
	v.Quality, v.Reasons, v.Basis = Unknown, []string{reason}, nil
	return v
}

// CallVerdict classifies a call from its streams' verdicts as CQD's "poor
// call" does: poor when any stream is poor (its reasons prefixed with the
// stream, "audio received: loss 12.0% > 10%"), good when at least one stream
// is good and none poor, unknown otherwise. Non-media verdicts are skipped.
func CallVerdict(streams []Verdict) Verdict {
	var call Verdict
	good := false
	for _, s := range streams {
		switch s.Quality {
		case Poor:
			for _, r := range s.Reasons {
				call.Reasons = append(call.Reasons, fmt.Sprintf("%s %s: %s", s.Label, s.Covers, r))
			}
		case Good:
			good = true
		}
	}
	switch {
	case len(call.Reasons) > 0:
		call.Quality = Poor
	case good:
		call.Quality = Good
	default:
		call.Quality, call.Reasons = Unknown, []string{"no media stream could be classified"}
	}
	return call
}
