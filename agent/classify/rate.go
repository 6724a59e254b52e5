package classify

import "github.com/teamsflow/teamsflow/agent/record"

// Rate thresholds, from DESIGN.md's table and the captures (WhatsApp audio
// runs at ~6.5 packets/s; Opus at 60 ms frames at ~17).
const (
	audioMaxPayload   = 300  // bytes: Opus/SILK frames stay well below
	audioMinPPS       = 4    // packets/s
	audioMaxPPS       = 70   // packets/s
	audioMaxMarkers   = 0.25 // marker bits per packet (talkspurt starts only)
	videoMinPayload   = 300  // bytes: a frame fills packets up to the MTU
	videoMinMarkers   = 0.05 // marker bits per packet: one per frame
	shareMinSilence   = 0.3  // seconds idle between busy intervals; video at 8 fps idles 0.125 s
	minPacketsToGuess = 3
)

// Clocks (RFC 3551 and the payload formats): audio codecs run at 8-48 kHz
// (Opus always at 48 kHz, G.722 at 8 kHz), every video format at 90 kHz.
// The clock is measured over the stream's life, pauses included, so it
// holds whatever the frame rate, packet sizes or marker bits do.
const (
	audioMaxClock = 56_000
	videoMinClock = 72_000
	maxClock      = 200_000 // faster is no media clock (bytes that only look like RTP)
)

// Screen share against camera video: content runs at 1-15 frames/s, often
// 1-5, and idles between changes; a camera keeps its frame rate (8-30) and
// degrades resolution instead. Each active interval votes; a settled label
// moves only when the vote passes the majority by the band.
const (
	shareFPS      = 5.5  // frames/s: a share animated at 5 fps is still one
	shareVoteBand = 0.15 // of the votes
)

// Rate labels a stream from its rate features alone; prev is the label
// shown so far, for the share/video band. ok is false when the features
// say nothing yet (too few packets, or no known shape).
func Rate(f Features, prev string) (Result, bool) {
	if f.Packets < minPacketsToGuess || f.Seconds <= 0 {
		return Result{}, false
	}
	// More intervals seen, more trust; the first is often a fraction of a second.
	trust := 0.55 + 0.1*float64(min(f.Intervals-1, 3))
	if f.Clock > 0 {
		// The clock is the RTP structure's own word: stronger than sizes.
		switch {
		case f.Clock <= audioMaxClock:
			return Result{record.LabelAudio, ReasonRate, trust + 0.05}, true
		case f.Clock >= videoMinClock && f.Clock <= maxClock:
			return Result{videoKind(f, prev), ReasonRate, trust + 0.05}, true
		}
	}
	switch {
	case audioLike(f):
		if f.PacketsPerSec < 17 || f.PacketsPerSec > 55 {
			trust -= 0.1 // outside the usual 20-60 ms framing
		}
		return Result{record.LabelAudio, ReasonRate, trust}, true
	case videoLike(f):
		return Result{videoKind(f, prev), ReasonRate, trust}, true
	}
	return Result{}, false
}

// videoKind tells screen share from camera video: over a stream's life
// by the intervals' vote, with a band around the majority so that a share
// right at the frame-rate bound keeps its label; over a window by frame
// rate and idle gaps.
func videoKind(f Features, prev string) string {
	if f.Life {
		need := 0.5
		switch prev {
		case record.LabelScreenshare:
			need -= shareVoteBand
		case record.LabelVideo:
			need += shareVoteBand
		}
		if f.ShareVotes >= need {
			return record.LabelScreenshare
		}
		return record.LabelVideo
	}
	if f.MaxSilence >= shareMinSilence || (f.HasShape && f.FramesPerSec < shareFPS) {
		return record.LabelScreenshare
	}
	return record.LabelVideo
}

func audioLike(f Features) bool {
	return f.MeanPayload <= audioMaxPayload && f.MarkerRatio < audioMaxMarkers &&
		f.PacketsPerSec >= audioMinPPS && f.PacketsPerSec <= audioMaxPPS
}

func videoLike(f Features) bool {
	if f.HasShape && f.MarkerRatio >= videoMinMarkers && f.MeanPayload > audioMaxPayload/2 {
		return true
	}
	return f.MeanPayload > videoMinPayload
}
