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
	admitStepShare    = 0.6 // of the packets after the first (reordering and duplicates take some)
	rejectStepShare   = 0.3
	rejectMinPackets  = 8
	admitWithoutClock = 32 // packets with good steps: enough without a clock (a constant timestamp)
	minClock          = 1000
	// The clock only needs to be a media clock's order here: random
	// timestamps run at ~10^10 Hz over 50 ms, a media clock below 200 kHz
	// (video frames bunched by a pacer may look twice as fast). A source is
	// rejected on its clock only far above that: a real one wrongly
	// rejected would be lost for its flow's life.
	admitMinFrames = 3
	admitClockWall = 50 * time.Millisecond
	rejectClock    = 10_000_000
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
	clock := 0.0
	if s.Frames >= admitMinFrames && s.Wall >= admitClockWall {
		clock = float64(s.TSAdvance) / s.Wall.Seconds()
	}
	if clock > rejectClock {
		return Rejected
	}
	mediaClock := clock >= minClock && clock <= maxClock
	if steps >= admitStepShare*after && (mediaClock || s.Packets >= admitWithoutClock) {
		return Admitted
	}
	return Pending
}
