// Package impair is network impairment at the sender, for the simulator
// and the tests that predict what it does to a stream: netem is not
// available, so loss and jitter are applied where the packets are sent.
package impair

import (
	"math/rand/v2"
	"time"
)

// Line applies a stream's loss and jitter at the sender: a lost packet still consumes its sequence
// number (so the receiver counts it lost), and jitter delays a frame's
// send time without reordering frames.
type Line struct {
	loss   float64
	jitter time.Duration
	rng    *rand.Rand
	last   time.Duration
}

// New returns a line with this loss (0 to 1) and jitter; seed makes its
// choices repeatable.
func New(loss float64, jitter time.Duration, seed uint64) *Line {
	return &Line{loss: loss, jitter: jitter, rng: rand.New(rand.NewPCG(seed, ^seed))}
}

// SendAt returns when a frame due at `due` is actually sent: due plus a
// random delay up to the jitter, never before the previous frame.
func (im *Line) SendAt(due time.Duration) time.Duration {
	at := due
	if im.jitter > 0 {
		at += time.Duration(im.rng.Int64N(int64(im.jitter) + 1))
	}
	if at < im.last {
		at = im.last
	}
	im.last = at
	return at
}

// Drop reports whether the next packet is skipped.
func (im *Line) Drop() bool {
	return im.loss > 0 && im.rng.Float64() < im.loss
}
