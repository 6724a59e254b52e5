package scenario

import (
	"fmt"
	"time"
)

// What a stream sends during a pause.
const (
	// SendOff sends no RTP at all: the camera is off, the share stopped,
	// the microphone muted. RTCP and ICE consent keep the 5-tuple alive.
	SendOff = "off"
	// SendCN sends RFC 3389 comfort noise (static payload type 13, one
	// SID packet every CNInterval), as SILK/G.7xx encoders with VAD do.
	SendCN = "cn"
	// SendDTX sends Opus DTX frames (a 1-2 byte TOC-only payload every
	// DTXInterval) under the stream's own payload type, as WebRTC's Opus
	// encoder does with usedtx=1.
	SendDTX = "dtx"
	// SendStatic sends what a screen-share encoder sends for an unchanged
	// screen: one small marked packet per frame at the pause's fps.
	SendStatic = "static"
)

// PayloadTypeCN is RFC 3551's static payload type for comfort noise.
const PayloadTypeCN = 13

// Pause is a span of a stream's life (from the stream's start) in which it
// sends no regular media. After an "off" pause the stream resumes under
// the same SSRC with continuing sequence numbers, as a real sender does
// when the camera comes back or the microphone is unmuted.
type Pause struct {
	At   time.Duration `yaml:"at"`
	For  time.Duration `yaml:"for"`
	Send string        `yaml:"send"`
	// FPS is the frame rate of a static share (default 1).
	FPS float64 `yaml:"fps"`
	// ProbeEvery sends a padding-only probe burst (RTP P bit, no marker,
	// 256-284 bytes) this often during a static share, as Chromium's
	// pacer does to probe bandwidth while the encoder has nothing to send.
	ProbeEvery time.Duration `yaml:"probe_every"`
}

// DefaultStaticFPS is a static share's frame rate when the pause sets none.
const DefaultStaticFPS = 1

func (st *Stream) validatePauses(p string, add addFunc) {
	var end time.Duration
	for i := range st.Pauses {
		ps := &st.Pauses[i]
		pp := fmt.Sprintf("%spauses[%d].", p, i)
		if ps.At < end || ps.For <= 0 {
			add(pp+"at", "pauses must not overlap, be in order and last longer than 0s")
		}
		end = ps.At + ps.For
		switch ps.Send {
		case "", SendOff:
		case SendCN, SendDTX:
			if st.Kind != KindAudio {
				add(pp+"send", "%s only applies to audio streams", ps.Send)
			}
		case SendStatic:
			if st.Kind != KindScreenshare {
				add(pp+"send", "static only applies to screenshare streams")
			}
		default:
			add(pp+"send", "must be off, cn, dtx or static (got %q)", ps.Send)
		}
		if ps.FPS != 0 && (ps.Send != SendStatic || ps.FPS < 0.2 || ps.FPS > 5) {
			add(pp+"fps", "only for static pauses, between 0.2 and 5")
		}
		if ps.ProbeEvery != 0 && (ps.Send != SendStatic || ps.ProbeEvery < 500*time.Millisecond) {
			add(pp+"probe_every", "only for static pauses, at least 500ms")
		}
	}
}

func (st *Stream) pauseDefaults() {
	for i := range st.Pauses {
		ps := &st.Pauses[i]
		if ps.Send == "" {
			ps.Send = SendOff
		}
		if ps.Send == SendStatic && ps.FPS == 0 {
			ps.FPS = DefaultStaticFPS
		}
	}
}
