// Package classifytest makes synthetic RTP senders for tests: packet
// schedules that follow DESIGN.md's rate table and the call simulator's
// media model (audio at a steady packet rate, video frames split at the
// MTU with periodic keyframes, screen share bursts after each change and
// idle in between), and bins them into the per-interval samples and
// cumulative counters the pipeline sees.
package classifytest

import (
	"math/rand/v2"
	"sort"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
)

// rtpHeader is subtracted from the simulator's UDP payload sizes.
const rtpHeader = 12

// Packet is one RTP packet: when it left, its payload size, marker bit,
// RTP timestamp and whether it is padding only (a bandwidth probe).
type Packet struct {
	At      time.Duration
	Payload int
	Marker  bool
	TS      uint32
	PadOnly bool
}

// Clocks of the synthetic senders: Opus and every video format.
const (
	AudioClock = 48000
	VideoClock = 90000
)

// rtpTime is a capture time on an RTP clock.
func rtpTime(at time.Duration, clock float64) uint32 { return uint32(at.Seconds() * clock) }

// Audio sends rate packets/s with UDP payloads between sizeMin and sizeMax.
func Audio(rate float64, sizeMin, sizeMax int, dur time.Duration, seed uint64) []Packet {
	rng := rand.New(rand.NewPCG(seed, 1))
	step := time.Duration(float64(time.Second) / rate)
	var out []Packet
	for at := time.Duration(0); at < dur; at += step {
		out = append(out, Packet{At: at, Payload: sizeMin + rng.IntN(sizeMax-sizeMin+1) - rtpHeader, TS: rtpTime(at, AudioClock)})
	}
	return out
}

// Video sends fps frames/s averaging kbps, a keyframe three times larger
// every keyframe interval, each frame split into packets of at most maxPacket.
func Video(fps float64, kbps, maxPacket int, keyframe, dur time.Duration, seed uint64) []Packet {
	rng := rand.New(rand.NewPCG(seed, 2))
	perKey := max(1, int(keyframe.Seconds()*fps))
	mean := float64(kbps) * 1000 / 8 / fps
	base := mean * float64(perKey) / float64(perKey+2)
	var out []Packet
	for i := 0; ; i++ {
		at := time.Duration(float64(i) / fps * float64(time.Second))
		if at >= dur {
			return out
		}
		size := base * (0.85 + 0.3*rng.Float64())
		if i%perKey == 0 {
			size *= 3
		}
		out = append(out, frame(at, int(size), maxPacket)...)
	}
}

// Share sends, after each change (every changeEvery), active worth of
// frames at fps: a large first frame then small refinements; idle between.
func Share(fps float64, kbps, maxPacket int, changeEvery, active, dur time.Duration) []Packet {
	per := max(1, int(active.Seconds()*fps))
	perChange := float64(kbps) * 1000 / 8 * changeEvery.Seconds()
	var out []Packet
	for c := 0; ; c++ {
		for f := 0; f < per; f++ {
			at := time.Duration(c)*changeEvery + time.Duration(float64(f)/fps*float64(time.Second))
			if at >= dur {
				return out
			}
			part := 0.6
			if f > 0 {
				part = 0.4 / float64(max(1, per-1))
			}
			out = append(out, frame(at, int(perChange*part), maxPacket)...)
		}
	}
}

func frame(at time.Duration, size, maxPacket int) []Packet {
	var out []Packet
	for size > 0 {
		n := min(size, maxPacket)
		out = append(out, Packet{At: at, Payload: n - rtpHeader, TS: rtpTime(at, VideoClock)})
		size -= n
	}
	out[len(out)-1].Marker = true
	return out
}

// Merge interleaves several schedules (a BUNDLEd flow) by time.
func Merge(schedules ...[]Packet) []Packet {
	var out []Packet
	for _, s := range schedules {
		out = append(out, s...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// Totals are cumulative counters up to a point in time.
type Totals struct {
	Packets, Payload, Squares, Markers uint64
	Frames, TSAdvance, PadOnly         uint64
	MaxTS                              uint32 // highest timestamp
	First, Last                        time.Duration
}

// Cumulative sums the packets sent before upTo.
func Cumulative(pkts []Packet, upTo time.Duration) Totals {
	var t Totals
	var maxTS uint32
	for _, p := range pkts {
		if p.At >= upTo {
			break
		}
		if t.Packets == 0 {
			t.First, maxTS = p.At, p.TS
		} else if step := int32(p.TS - maxTS); step > 0 {
			t.Frames++
			t.TSAdvance += uint64(step)
			maxTS = p.TS
		}
		t.Packets++
		t.Last, t.MaxTS = p.At, maxTS
		if p.PadOnly {
			t.PadOnly++
			continue
		}
		t.Payload += uint64(p.Payload)
		t.Squares += uint64(p.Payload * p.Payload)
		if p.Marker {
			t.Markers++
		}
	}
	return t
}

// Samples bins a schedule into intervals of length every, the first
// snapshot falling at offset after the stream's start, as the pipeline
// would see them, up to n snapshots.
func Samples(pkts []Packet, offset, every time.Duration, n int) []classify.Sample {
	var out []classify.Sample
	prev := Totals{}
	prevAt := time.Duration(0)
	for i := 0; i < n; i++ {
		at := offset + time.Duration(i)*every
		cur := Cumulative(pkts, at)
		if cur.Packets == 0 {
			continue
		}
		span := at - prevAt
		if prev.Packets == 0 {
			span = at - cur.First
		}
		out = append(out, classify.Sample{
			Span: span, Packets: cur.Packets - prev.Packets, Payload: cur.Payload - prev.Payload,
			Squares: cur.Squares - prev.Squares, Markers: cur.Markers - prev.Markers,
			Silence: at - cur.Last, HasShape: true,
			Frames: cur.Frames - prev.Frames, TSAdvance: cur.TSAdvance - prev.TSAdvance, PadOnly: cur.PadOnly - prev.PadOnly,
		})
		prev, prevAt = cur, at
	}
	return out
}
