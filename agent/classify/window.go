package classify

import (
	"math"
	"time"
)

// windowLen is how many intervals the rate features look back: 5 s at
// 1 s snapshots, long enough to see a screen share's idle gap between two
// changes (every ~2 s) and short enough to follow a change of kind.
const windowLen = 5

// Sample is one interval of one stream: counter differences between two
// snapshots.
type Sample struct {
	Span     time.Duration // time the interval covers (from the stream's start for the first)
	Packets  uint64
	Payload  uint64 // payload bytes
	Squares  uint64 // sum of squared payload sizes; 0 when unknown
	Markers  uint64 // RTP marker bits; 0 when unknown
	Silence  time.Duration
	HasShape bool // Squares and Markers are known (RTP streams)
	// RTP structure (Life only): timestamp changes (frames), the
	// timestamp's advance, and packets of padding only (in Packets too).
	Frames    uint64
	TSAdvance uint64
	PadOnly   uint64
	// ClockReset: the timestamp's advance in this interval reaches back
	// before it (a source that resumed after its stream ended): it is
	// left out of the clock.
	ClockReset bool
}

// Window keeps the last few samples of a stream. A flow's samples have
// no shape (squares, markers, silence): that part is kept apart and made
// only for a stream whose samples have one, which halves a flow's window
// (the daemon keeps one per flow, 10k flows and more).
type Window struct {
	counts [windowLen]sampleCounts
	shapes *[windowLen]sampleShape
	n      uint8
	next   uint8
	shaped uint8 // bit i: samples slot i HasShape
}

type sampleCounts struct {
	span    time.Duration
	packets uint64
	payload uint64
}

type sampleShape struct {
	squares, markers uint64
	silence          time.Duration
}

// Add appends one interval, forgetting the oldest when full.
func (w *Window) Add(s Sample) {
	i := w.next
	w.counts[i] = sampleCounts{s.Span, s.Packets, s.Payload}
	shape := sampleShape{s.Squares, s.Markers, s.Silence}
	if w.shapes == nil && shape != (sampleShape{}) {
		w.shapes = new([windowLen]sampleShape)
	}
	if w.shapes != nil {
		w.shapes[i] = shape
	}
	w.shaped &^= 1 << i
	if s.HasShape {
		w.shaped |= 1 << i
	}
	w.next = (w.next + 1) % windowLen
	w.n = min(w.n+1, windowLen)
}

// sample returns the sample in slot i.
func (w *Window) sample(i int) Sample {
	c := &w.counts[i]
	s := Sample{Span: c.span, Packets: c.packets, Payload: c.payload, HasShape: w.shaped&(1<<i) != 0}
	if w.shapes != nil {
		sh := &w.shapes[i]
		s.Squares, s.Markers, s.Silence = sh.squares, sh.markers, sh.silence
	}
	return s
}

// Features are the rate facts the label rules read.
type Features struct {
	Intervals     int
	Seconds       float64
	Packets       uint64
	PacketsPerSec float64
	FramesPerSec  float64 // RTP marker bits per second
	MarkerRatio   float64 // marker bits per packet
	MeanPayload   float64 // bytes
	StdPayload    float64 // bytes; 0 when unknown
	MaxSilence    float64 // seconds without packets between two busy intervals
	HasShape      bool
	// Over an RTP stream's life (Life): the RTP clock in Hz (timestamp
	// advance per second of wall time; 0 when not known yet), the mean
	// timestamp step per frame in ms, the share of padding-only packets
	// and of active intervals that voted screen share (see Life).
	// FramesPerSec then counts timestamp changes, not marker bits.
	Life       bool
	Clock      float64
	StepMs     float64
	PadShare   float64
	ShareVotes float64
}

// Features sums the window. A silence counts only when packets followed
// it: a stream that just stopped is ending, not idling between changes.
func (w *Window) Features() Features {
	var f Features
	var payload, squares, markers float64
	busyAfter := false
	for k := 0; k < int(w.n); k++ {
		s := w.sample((int(w.next) - 1 - k + windowLen) % windowLen) // k = 0 is the newest
		if busyAfter {
			f.MaxSilence = math.Max(f.MaxSilence, s.Silence.Seconds())
		}
		if s.Packets > 0 {
			busyAfter = true
		}
		f.Intervals++
		f.Seconds += s.Span.Seconds()
		f.Packets += s.Packets
		payload += float64(s.Payload)
		squares += float64(s.Squares)
		markers += float64(s.Markers)
		f.HasShape = s.HasShape
	}
	if f.Seconds <= 0 || f.Packets == 0 {
		return f
	}
	n := float64(f.Packets)
	f.PacketsPerSec = n / f.Seconds
	f.FramesPerSec = markers / f.Seconds
	f.MarkerRatio = markers / n
	f.MeanPayload = payload / n
	if f.HasShape {
		f.StdPayload = math.Sqrt(math.Max(0, squares/n-f.MeanPayload*f.MeanPayload))
	}
	return f
}
