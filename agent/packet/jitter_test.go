package packet

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestVideoJitterOncePerFrame: video sends a frame as a burst of packets
// that share a timestamp. libwebrtc (receive_statistics_impl.cc,
// UpdateCounters) updates jitter on the first in-order packet of a new
// timestamp, from the last in-order packet before it; per packet, the
// burst's own spacing would count as jitter. Frames 33.3 ms apart whose
// three packets arrive 1 ms apart: D is the 2 ms the burst takes, every
// frame, and J converges to it.
func TestVideoJitterOncePerFrame(t *testing.T) {
	var pkts []rtpArrival
	seq := uint16(100)
	for f := range 300 {
		for p := range 3 {
			pkts = append(pkts, rtpArrival{seq: seq, ts: uint32(f) * 3000, at: uint64(f)*33_333_333 + uint64(p)*1_000_000 + 1})
			seq++
		}
	}
	_, o := receiveClock(t, pkts, 96)
	if d := o.Jitter - 2*time.Millisecond; d < -50*time.Microsecond || d > 50*time.Microsecond {
		t.Errorf("jitter %v, want 2 ms (the burst's spread, once per frame)", o.Jitter)
	}
}

// TestAudioJitterPerPacket: audio has a timestamp per packet, so updating
// once per timestamp is RFC 3550 A.8 on every packet, as before.
func TestAudioJitterPerPacket(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	pkts := inOrder(500, 500)
	var j float64
	for i := range pkts {
		pkts[i].at += uint64(rng.Intn(8_000_000))
		if i > 0 {
			d := math.Abs(float64(pkts[i].at-pkts[i-1].at) - 20e6)
			j += (d - j) / 16
		}
	}
	_, o := receiveClock(t, pkts, 111)
	if got := float64(o.Jitter); math.Abs(got-j) > 0.01*j {
		t.Errorf("jitter %v, want RFC 3550 A.8 per packet: %v", o.Jitter, time.Duration(j))
	}
}

// TestJitterLeavesOutLateAndDuplicates: a late or duplicated packet does
// not move jitter, nor the reference the next packet is measured from.
func TestJitterLeavesOutLateAndDuplicates(t *testing.T) {
	clean := inOrder(10, 200)
	var noisy []rtpArrival
	for i, p := range clean {
		noisy = append(noisy, p)
		if i > 5 && i%7 == 0 {
			late := clean[i-3]
			late.at = p.at + 1000
			noisy = append(noisy, late, p) // late, then a duplicate
		}
	}
	_, want := receiveClock(t, clean, 111)
	_, got := receiveClock(t, noisy, 111)
	if got.Jitter != want.Jitter || got.Duplicates == 0 {
		t.Errorf("jitter %v with late and duplicated packets (%d duplicates), %v without", got.Jitter, got.Duplicates, want.Jitter)
	}
}

// TestJitterLeavesOutTimestampJumps: as libwebrtc, a |D| of 450000 samples
// or more (5 s at 90 kHz, 9.4 s at 48 kHz) is the sender's timestamps
// jumping, not jitter; just below it counts.
func TestJitterLeavesOutTimestampJumps(t *testing.T) {
	const j = 16 * 3_000_000 // 3 ms
	for _, c := range []struct {
		clock   uint32
		tsDelta uint32
		arrival uint64
		moved   bool
	}{
		{90000, 450000, 0, false},             // 5 s of timestamps in no time
		{90000, 449999, 0, true},              // a sample less
		{48000, 0, 9_375_000_000, false},      // 450000 samples of 48 kHz late
		{48000, 0, 9_374_000_000, true},       // a millisecond less
		{8000, 960, 3600_000_000_000, false},  // an hour's pause
		{90000, 3000, 33_333_333 + 1e6, true}, // an ordinary frame
	} {
		got := Jitter16(j, c.arrival, c.tsDelta, c.clock)
		if (got != j) != c.moved {
			t.Errorf("clock %d, timestamps %d apart, arrivals %v apart: jitter %v -> %v", c.clock, c.tsDelta,
				time.Duration(c.arrival), time.Duration(j/16), time.Duration(got/16))
		}
	}
}
