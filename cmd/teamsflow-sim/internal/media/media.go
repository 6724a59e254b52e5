// Package media turns a scenario stream into a timed sequence of frames
// and packet sizes, and applies the sender-side impairments (loss as
// skipped sequence numbers, jitter as delayed sends). It is pure: no
// sockets, no clocks, so pacing is unit-tested exactly.
package media

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// SRTPOverhead is what every media packet carries besides its codec
// payload: the 12-byte RTP header and the 10-byte HMAC-SHA1-80 tag.
const SRTPOverhead = 12 + 10

// minPacket keeps every packet able to hold a header, a tag and a few
// payload bytes.
const minPacket = SRTPOverhead + 8

// Frame is one media frame: when it is due (from the stream's start), its
// RTP timestamp and the UDP payload sizes of its packets. Video and screen
// share mark the last packet of each frame.
type Frame struct {
	At      time.Duration
	RTPTime uint32
	Sizes   []int
	Marker  bool
	Key     bool
	// PayloadType overrides the stream's (comfort noise is PT 13); 0
	// keeps the stream's own.
	PayloadType int
	// Padding makes every packet padding only (RTP P bit): a bandwidth
	// probe, not media.
	Padding bool
	// Sending says what the frame is: SendingMedia or a pause's send mode
	// (cn, dtx, static).
	Sending string
	// Segment counts the pause boundaries before the frame: the frames of
	// one on-period or one pause share it.
	Segment int
}

// SendingMedia marks the stream's regular media frames.
const SendingMedia = "media"

// Generator yields a stream's frames in order; ok is false after the end.
type Generator interface {
	Next() (f Frame, ok bool)
}

// ClockRate is the RTP clock of a stream: SILK wideband runs at 16 kHz,
// Opus at 48 kHz, video at 90 kHz.
func ClockRate(kind string, pt int) uint32 {
	switch {
	case kind != scenario.KindAudio:
		return 90000
	case scenario.Codec(pt) == "SILK":
		return 16000
	}
	return 48000
}

// New returns the generator for a stream with defaults applied. The seed
// makes sizes repeatable.
func New(st scenario.Stream, seed uint64) Generator {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pt := 0
	if st.PayloadType != nil {
		pt = *st.PayloadType
	}
	clock := ClockRate(st.Kind, pt)
	var g Generator
	switch st.Kind {
	case scenario.KindAudio:
		g = &audio{st: st, rng: rng, clock: clock}
	case scenario.KindVideo:
		g = newVideo(st, rng, clock)
	default:
		g = newShare(st, rng, clock)
	}
	return newPaused(g, st, rng, clock)
}

// frameTime is the due time of frame i at rate per second, rounded to the
// nanosecond so that fixed rates give exactly equal spacing.
func frameTime(i int, rate float64) time.Duration {
	return time.Duration(math.Round(float64(i) * float64(time.Second) / rate))
}

func rtpTime(at time.Duration, clock uint32) uint32 {
	return uint32(at.Seconds() * float64(clock))
}

// split cuts a frame of total bytes into packets no larger than max, of
// near-equal size, the way RTP packetizers (H.264 FU-A) spread a frame.
func split(total, max int) []int {
	if total < minPacket {
		total = minPacket
	}
	n := int(math.Ceil(float64(total) / float64(max)))
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = total / n
		if i < total%n {
			sizes[i]++
		}
	}
	return sizes
}

type audio struct {
	st    scenario.Stream
	rng   *rand.Rand
	clock uint32
	i     int
}

// Next yields one packet per frame at a fixed interval (20 ms at 50/s),
// the steady spacing that sets audio apart from everything else.
func (a *audio) Next() (Frame, bool) {
	at := frameTime(a.i, a.st.PacketRate)
	if at >= a.st.Duration {
		return Frame{}, false
	}
	a.i++
	size := a.st.SizeMin + a.rng.IntN(a.st.SizeMax-a.st.SizeMin+1)
	return Frame{At: at, RTPTime: rtpTime(at, a.clock), Sizes: []int{size}}, true
}
