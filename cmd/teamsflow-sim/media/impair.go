package media

import (
	"math/rand/v2"
	"time"
)

// Impairer applies the scenario's loss and jitter at the sender, since
// netem is not available: a lost packet still consumes its sequence
// number (so the receiver counts it lost), and jitter delays a frame's
// send time without reordering frames.
type Impairer struct {
	loss   float64
	jitter time.Duration
	rng    *rand.Rand
	last   time.Duration
}

// NewImpairer returns an impairer; seed makes its choices repeatable.
func NewImpairer(loss float64, jitter time.Duration, seed uint64) *Impairer {
	return &Impairer{loss: loss, jitter: jitter, rng: rand.New(rand.NewPCG(seed, ^seed))}
}

// SendAt returns when a frame due at `due` is actually sent: due plus a
// random delay up to the jitter, never before the previous frame.
func (im *Impairer) SendAt(due time.Duration) time.Duration {
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
func (im *Impairer) Drop() bool {
	return im.loss > 0 && im.rng.Float64() < im.loss
}
