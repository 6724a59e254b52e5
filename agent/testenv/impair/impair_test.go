package impair

import (
	"testing"
	"time"
)

// Loss is as asked, and jitter delays a frame by at most the jitter,
// never before the frame ahead of it.
func TestLossAndOrder(t *testing.T) {
	im := New(0.1, 30*time.Millisecond, 7)
	drops := 0
	for range 10000 {
		if im.Drop() {
			drops++
		}
	}
	if loss := float64(drops) / 10000; loss < 0.09 || loss > 0.11 {
		t.Errorf("loss %.3f, want 0.1 ±10%%", loss)
	}
	last := time.Duration(0)
	for i := range 1000 {
		due := time.Duration(i) * 20 * time.Millisecond
		at := im.SendAt(due)
		if at < due || at < last || (at > due+30*time.Millisecond && at != last) {
			t.Fatalf("frame %d due %v sent %v after %v", i, due, at, last)
		}
		last = at
	}
}
