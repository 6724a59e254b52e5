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
	// shareVotes counts active intervals that looked like screen share
	// (below the frame-rate bound, or next to an idle gap: a share idles
	// between changes); the others looked like camera video. A vote over
	// the life moves one way on steady input, so it crosses a bound once.
	shareVotes, votes float64
	// clockWall is the wall time from the first packet to the last one
	// (pauses included: the timestamp runs on through them); pending is
	// the time since the last active interval's end.
	clockWall, pending time.Duration
	// afterGap is how many more active intervals count as next to an idle
	// gap: snapshots cut a share's burst of changes in two, and only one
	// half touches the gap.
	afterGap uint8
	// The last few active intervals' frames and spans: an interval's vote
	// reads the frame rate over them, as one second holds too few frames
	// of a slow camera to tell it from a share.
	recentFrames [recentIntervals]uint64
	recentSpans  [recentIntervals]time.Duration
}

// recentIntervals is how many active intervals a vote's frame rate spans.
const recentIntervals = 3

// Add takes one interval of the stream.
func (l *Life) Add(s Sample) {
	media := s.Packets - min(s.Packets, s.PadOnly)
	l.padOnly += min(s.Packets, s.PadOnly)
	if media == 0 {
		l.pending += s.Span
		if l.active > 0 {
			l.afterGap = gapReach
		}
		return
	}
	endsIdle := s.Silence.Seconds() >= shareGapSilence
	fps := l.recentFPS(s)
	switch {
	case l.afterGap > 0 || endsIdle:
		// A camera never idles: a gap weighs more than a slow interval.
		l.shareVotes, l.votes = l.shareVotes+gapVote, l.votes+gapVote
	case fps < shareFPS:
		l.shareVotes, l.votes = l.shareVotes+1, l.votes+1
	default:
		l.votes++
	}
	l.active++
	l.seconds += s.Span.Seconds()
	l.packets += media
	l.payload += s.Payload
	l.squares += s.Squares
	l.markers += s.Markers
	if !s.ClockReset {
		l.frames += s.Frames
		l.tsAdvance += s.TSAdvance
		l.clockWall += l.pending + s.Span - min(s.Span, s.Silence)
	}
	l.pending = min(s.Span, s.Silence)
	l.afterGap = max(l.afterGap, 1) - 1
	if endsIdle {
		l.afterGap = gapReach
	}
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
	f.ShareVotes = l.shareVotes / l.votes
	if l.frames >= minFramesForClock && l.clockWall >= minClockWall {
		f.Clock = float64(l.tsAdvance) / l.clockWall.Seconds()
		f.FramesPerSec = math.Min(float64(l.frames), float64(l.packets)) / l.seconds
		f.StepMs = 1000 * float64(l.tsAdvance) / float64(l.frames) / f.Clock
	}
	return f
}

// recentFPS adds an active interval to the recent ones and returns their
// frame rate: timestamp changes, or marker bits where the timestamp says
// nothing.
func (l *Life) recentFPS(s Sample) float64 {
	frames := s.Frames
	if s.TSAdvance == 0 {
		frames = s.Markers
	}
	if l.active == 0 && s.TSAdvance > 0 {
		frames++ // the first packet's frame: the counters count steps past it
	}
	i := l.active % recentIntervals
	l.recentFrames[i], l.recentSpans[i] = frames, s.Span
	var n uint64
	var span time.Duration
	for k := range recentIntervals {
		n += l.recentFrames[k]
		span += l.recentSpans[k]
	}
	return float64(n) / max(span.Seconds(), 0.001)
}

// Active is how many intervals carried media.
func (l *Life) Active() int { return l.active }

// shareGapSilence is the silence at a snapshot that counts as a share's
// idle gap: video idles 0.125 s between frames at 8 fps; a share idles
// seconds, and a snapshot catches the gap at any point of it.
const shareGapSilence = shareMinSilence

// gapReach is how many active intervals after an idle gap vote share.
const gapReach = 2

// gapVote is the weight of an interval next to an idle gap.
const gapVote = 2

// What a clock needs before it counts: a few frames over a fifth of a
// second (one 20 ms audio packet early or late moves 10 of them by 10%).
const (
	minFramesForClock = 4
	minClockWall      = 200 * time.Millisecond
)
