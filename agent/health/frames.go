package health

import "time"

// FrameCounter measures a video stream's frame rate (the record's
// `frames_per_sec`) as Call Quality Dashboard's "Video Frame Rate Avg" does:
// frames over the stream's duration. A frame is an RTP timestamp: every
// packet of one video frame carries the frame's timestamp, so a new frame
// starts where the timestamp advances. That equals counting marker bits
// (the marker is on each frame's last packet) while nothing is lost, and
// still counts a frame whose marker packet was lost. A late packet of an
// earlier frame (timestamp behind) is not a new frame. State is O(1).
type FrameCounter struct {
	frames      uint64
	first, last time.Time // arrival of the first and the latest frame
	lastTS      uint32
	started     bool
}

// Observe takes one RTP packet of the stream: its arrival and timestamp.
func (c *FrameCounter) Observe(at time.Time, rtpTimestamp uint32) {
	switch {
	case !c.started:
		c.started, c.first = true, at
	case int32(rtpTimestamp-c.lastTS) <= 0: // same frame, or a late packet (serial arithmetic, RFC 1982)
		return
	}
	c.frames++
	c.lastTS, c.last = rtpTimestamp, at
}

// PerSecond is the average frame rate between the first and the latest
// frame; ok is false before two frames, when there is no interval to divide.
func (c *FrameCounter) PerSecond() (fps float64, ok bool) {
	span := c.last.Sub(c.first)
	if c.frames < 2 || span <= 0 {
		return 0, false
	}
	return float64(c.frames-1) / span.Seconds(), true
}

// LossRate is the fraction of a received RTP stream's packets lost, from
// RFC 3550's cumulative count and the packets received; ok is false when
// nothing was expected. Duplicates can make the cumulative count negative
// (RFC 3550 A.3); that is no loss.
func LossRate(lost int64, received uint64) (rate float64, ok bool) {
	lost = max(lost, 0)
	expected := float64(received) + float64(lost)
	if expected == 0 {
		return 0, false
	}
	return float64(lost) / expected, true
}
