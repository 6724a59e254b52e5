package health

import (
	"testing"
	"time"
)

func TestFrameCounter(t *testing.T) {
	base := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	// 15 frames/s video at 90 kHz: 6000 ticks and 66.7 ms a frame, 3 packets
	// a frame; frame 5 loses its marker packet, frame 7 gets a late packet of
	// frame 6 after it; the timestamp wraps past 2^32 in the middle.
	var c FrameCounter
	if _, ok := c.PerSecond(); ok {
		t.Error("rate before any packet")
	}
	ts := uint32(1<<32 - 3*6000)
	frameGap := time.Second / 15
	for f := range 31 { // 31 frames: 30 intervals over 2 s
		at := base.Add(time.Duration(f) * frameGap)
		packets := 3
		if f == 5 {
			packets = 2
		}
		for p := range packets {
			c.Observe(at.Add(time.Duration(p)*time.Millisecond), ts)
		}
		if f == 7 {
			c.Observe(at.Add(5*time.Millisecond), ts-6000) // late packet of frame 6
		}
		ts += 6000
	}
	fps, ok := c.PerSecond()
	// 30 intervals over 30/15 s = 2 s: 15 frames/s.
	if !ok || fps < 14.99 || fps > 15.01 {
		t.Errorf("frame rate %.3f (%v), want 15", fps, ok)
	}
	var one FrameCounter
	one.Observe(base, 1)
	one.Observe(base.Add(time.Millisecond), 1)
	if _, ok := one.PerSecond(); ok {
		t.Error("rate from a single frame")
	}
}

func TestLossRate(t *testing.T) {
	cases := []struct {
		lost     int64
		received uint64
		want     float64
		ok       bool
	}{
		{0, 0, 0, false},
		{0, 100, 0, true},
		{12, 88, 0.12, true},
		{-3, 100, 0, true}, // duplicates
		{5, 0, 1, true},
	}
	for _, c := range cases {
		got, ok := LossRate(c.lost, c.received)
		if ok != c.ok || got != c.want {
			t.Errorf("LossRate(%d, %d) = %g, %v; want %g, %v", c.lost, c.received, got, ok, c.want, c.ok)
		}
	}
}
