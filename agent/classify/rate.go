package classify

// Rate thresholds, from DESIGN.md's table and the captures (WhatsApp audio
// runs at ~6.5 packets/s; Opus at 60 ms frames at ~17).
const (
	audioMaxPayload   = 300  // bytes: Opus/SILK frames stay well below
	audioMinPPS       = 4    // packets/s
	audioMaxPPS       = 70   // packets/s
	audioMaxMarkers   = 0.25 // marker bits per packet (talkspurt starts only)
	videoMinPayload   = 300  // bytes: a frame fills packets up to the MTU
	videoMinMarkers   = 0.05 // marker bits per packet: one per frame
	shareMaxFPS       = 5    // frames/s: below this a sender is sharing content
	shareMinSilence   = 0.3  // seconds idle between busy intervals; video at 8 fps idles 0.125 s
	minPacketsToGuess = 3
)

// Rate labels a stream from its rate features alone. ok is false when the
// features say nothing yet (too few packets, or no known shape).
func Rate(f Features) (Result, bool) {
	if f.Packets < minPacketsToGuess || f.Seconds <= 0 {
		return Result{}, false
	}
	// More intervals seen, more trust; the first is often a fraction of a second.
	trust := 0.55 + 0.1*float64(min(f.Intervals-1, 3))
	switch {
	case audioLike(f):
		if f.PacketsPerSec < 17 || f.PacketsPerSec > 55 {
			trust -= 0.1 // outside the usual 20-60 ms framing
		}
		return Result{LabelAudio, ReasonRate, trust}, true
	case videoLike(f):
		if f.MaxSilence >= shareMinSilence || (f.HasShape && f.FramesPerSec < shareMaxFPS) {
			return Result{LabelScreenshare, ReasonRate, trust}, true
		}
		return Result{LabelVideo, ReasonRate, trust}, true
	}
	return Result{}, false
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
