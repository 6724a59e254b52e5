package classify

import (
	"math"
	"time"
)

// Life is the evidence about one RTP stream over its active life: the
// sums of its active intervals (those that carried media) and the RTP
// timestamp's clock from its first to its last packet. An interval
// without media adds nothing, so a stream that pauses or stops keeps what
// its packets showed: a camera turned off, a participant gone silent or a
// share stopped before the end is not relabelled from its empty tail.
type Life struct {
	active    int     // intervals with media packets
	seconds   float64 // their spans
	packets   uint64  // media packets (padding-only probes left out)
	padOnly   uint64
	payload   uint64
	squares   uint64
	markers   uint64
	frames    uint64 // timestamp changes: frames
	tsAdvance uint64
	gaps      int // active intervals that followed an idle gap (a share idles between changes)
	// clockWall is the wall time from the first packet to the last one
	// (pauses included: the timestamp runs on through them); pending is
	// the time since the last active interval's end.
	clockWall, pending time.Duration
	idle               bool // the last interval ended idle: the next active one follows a gap
}

// Add takes one interval of the stream.
func (l *Life) Add(s Sample) {
	media := s.Packets - min(s.Packets, s.PadOnly)
	l.padOnly += min(s.Packets, s.PadOnly)
	if media == 0 {
		l.pending += s.Span
		l.idle = l.active > 0
		return
	}
	if l.idle {
		l.gaps++
	}
	l.active++
	l.seconds += s.Span.Seconds()
	l.packets += media
	l.payload += s.Payload
	l.squares += s.Squares
	l.markers += s.Markers
	l.frames += s.Frames
	l.tsAdvance += s.TSAdvance
	l.clockWall += l.pending + s.Span - min(s.Span, s.Silence)
	l.pending = min(s.Span, s.Silence)
	// Video at 8 fps idles 0.125 s between frames; a share idles seconds.
	l.idle = s.Silence.Seconds() >= shareMinSilence
}

// Features are the life's rate and structure facts.
func (l *Life) Features() Features {
	f := Features{Intervals: l.active, Seconds: l.seconds, Packets: l.packets, HasShape: true, Life: true}
	if l.seconds <= 0 || l.packets == 0 {
		return f
	}
	n := float64(l.packets)
	f.PacketsPerSec = n / l.seconds
	f.MarkerRatio = float64(l.markers) / n
	f.FramesPerSec = float64(l.markers) / l.seconds
	f.MeanPayload = float64(l.payload) / n
	f.StdPayload = math.Sqrt(math.Max(0, float64(l.squares)/n-f.MeanPayload*f.MeanPayload))
	f.PadShare = float64(l.padOnly) / float64(l.padOnly+l.packets)
	f.GapShare = float64(l.gaps) / float64(l.active)
	if l.frames >= minFramesForClock && l.clockWall >= minClockWall {
		f.Clock = float64(l.tsAdvance) / l.clockWall.Seconds()
		f.FramesPerSec = math.Min(float64(l.frames), float64(l.packets)) / l.seconds
		f.StepMs = 1000 * float64(l.tsAdvance) / float64(l.frames) / f.Clock
	}
	return f
}

// Active is how many intervals carried media.
func (l *Life) Active() int { return l.active }

// What a clock needs before it counts: a few frames over a fifth of a
// second (one 20 ms audio packet early or late moves 10 of them by 10%).
const (
	minFramesForClock = 4
	minClockWall      = 200 * time.Millisecond
)
