package media

import (
	"math/rand/v2"
	"time"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// keyframeMult is how much larger a keyframe is than a delta frame.
const keyframeMult = 3

type video struct {
	st       scenario.Stream
	rng      *rand.Rand
	clock    uint32
	i        int
	perKey   int // frames from one keyframe to the next
	baseSize float64
}

// newVideo sizes delta frames so that, keyframes included, the average
// bitrate equals the configured one (within the ±15% size noise).
func newVideo(st scenario.Stream, rng *rand.Rand, clock uint32) *video {
	perKey := int(st.Keyframe.Seconds() * st.FPS)
	if perKey < 1 {
		perKey = 1
	}
	mean := float64(st.BitrateKbps) * 1000 / 8 / st.FPS
	base := mean * float64(perKey) / float64(perKey-1+keyframeMult)
	return &video{st: st, rng: rng, clock: clock, perKey: perKey, baseSize: base}
}

func (v *video) Next() (Frame, bool) {
	at := frameTime(v.i, v.st.FPS)
	if at >= v.st.Duration {
		return Frame{}, false
	}
	key := v.i%v.perKey == 0
	v.i++
	size := v.baseSize * (0.85 + 0.3*v.rng.Float64())
	if key {
		size *= keyframeMult
	}
	return Frame{
		At: at, RTPTime: rtpTime(at, v.clock),
		Sizes: split(int(size), v.st.MaxPacket), Marker: true, Key: key,
	}, true
}

// share models screen sharing: nothing while the screen is static, then on
// each change a large first frame (the changed region) followed by smaller
// refinement frames at the configured fps for the active window.
type share struct {
	st         scenario.Stream
	rng        *rand.Rand
	clock      uint32
	change     int // index of the current change
	frame      int // frame index within the active window
	perWindow  int
	bytesPerCh float64
}

func newShare(st scenario.Stream, rng *rand.Rand, clock uint32) *share {
	per := int(st.Active.Seconds() * st.FPS)
	if per < 1 {
		per = 1
	}
	bytes := float64(st.BitrateKbps) * 1000 / 8 * st.ChangeEvery.Seconds()
	return &share{st: st, rng: rng, clock: clock, perWindow: per, bytesPerCh: bytes}
}

func (s *share) Next() (Frame, bool) {
	if s.frame >= s.perWindow {
		s.change++
		s.frame = 0
	}
	at := time.Duration(s.change)*s.st.ChangeEvery + frameTime(s.frame, s.st.FPS)
	if at >= s.st.Duration {
		return Frame{}, false
	}
	// The first frame after a change carries most of the change.
	share := 0.6
	if s.perWindow == 1 {
		share = 1
	} else if s.frame > 0 {
		share = 0.4 / float64(s.perWindow-1)
	}
	size := s.bytesPerCh * share * (0.9 + 0.2*s.rng.Float64())
	key := s.frame == 0
	s.frame++
	return Frame{
		At: at, RTPTime: rtpTime(at, s.clock),
		Sizes: split(int(size), s.st.MaxPacket), Marker: true, Key: key,
	}, true
}
