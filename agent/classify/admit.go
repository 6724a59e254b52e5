package classify

import "time"

// Source is what the counters say about a would-be RTP source: bytes that
// start like an RTP header (version 2) are not yet a stream.
type Source struct {
	Packets   uint64
	SeqSteps  uint64 // packets 1-64 ahead of the highest sequence number
	Frames    uint64 // timestamp changes
	TSAdvance uint64 // the highest timestamp's advance
	Wall      time.Duration
}

// Admission is what a source is.
type Admission uint8

const (
	Pending  Admission = iota // not enough packets to say
	Admitted                  // a real sender's stream
	Rejected                  // bytes that only looked like RTP
)

// Admission rules: a real sender's sequence numbers step by one (more
// across losses) and its timestamp runs at a media clock. Random bytes
// pass the version check one packet in four, a sequence step one in a
// thousand, and their timestamps jump by ~2^30 a packet.
const (
	admitMinPackets   = 4
	admitStepShare    = 0.75 // of the packets after the first
	rejectStepShare   = 0.5
	rejectMinPackets  = 8
	admitWithoutClock = 32 // packets with good steps: enough without a clock (a constant timestamp)
	minClock          = 1000
)

// Admit tells a real RTP source from bytes that only look like one. One
// packet is never a stream.
func Admit(s Source) Admission {
	if s.Packets < admitMinPackets {
		return Pending
	}
	after := float64(s.Packets - 1)
	steps := float64(s.SeqSteps)
	if s.Packets >= rejectMinPackets && steps < rejectStepShare*after {
		return Rejected
	}
	clockKnown := s.Frames >= 2 && s.Wall >= minClockWall
	if clockKnown {
		if c := float64(s.TSAdvance) / s.Wall.Seconds(); c < minClock || c > maxClock {
			return Rejected
		}
	}
	if steps >= admitStepShare*after && (clockKnown || s.Packets >= admitWithoutClock) {
		return Admitted
	}
	return Pending
}
