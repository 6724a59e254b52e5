package agent

import (
	"math"
	"time"

	"github.com/teamsflow/teamsflow/bpf"

	"golang.org/x/sys/unix"
)

// Clock converts the kernel's CLOCK_BOOTTIME nanoseconds to wall time.
type Clock struct {
	// offset is wall time minus boot time, in ns, taken at start.
	offset int64
}

// NewClock reads both clocks once.
func NewClock() Clock {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return Clock{offset: time.Now().UnixNano() - ts.Nano()}
}

// Wall converts a boot-clock timestamp; 0 stays the zero time.
func (c Clock) Wall(bootNs uint64) time.Time {
	if bootNs == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(bootNs)+c.offset)
}

// BootNs converts a wall time to the boot clock.
func (c Clock) BootNs(t time.Time) uint64 {
	ns := t.UnixNano() - c.offset
	if ns < 0 {
		return 0
	}
	return uint64(ns)
}

// ticks converts the flow map's jiffies to the boot clock. The relation is
// re-sampled at every poll, so suspend or drift never accumulate.
type ticks struct {
	ref        bpf.ClockPair
	nsPerJiffy uint64
}

// hzCandidates are the kernel's possible CONFIG_HZ values.
var hzCandidates = []float64{100, 250, 300, 1000}

// calibrateTicks measures the tick length from two samples.
func calibrateTicks(objs *bpf.Objects) (ticks, error) {
	a, err := objs.SampleClock()
	if err != nil {
		return ticks{}, err
	}
	time.Sleep(120 * time.Millisecond)
	b, err := objs.SampleClock()
	if err != nil {
		return ticks{}, err
	}
	hz := float64(b.Jiffies-a.Jiffies) * 1e9 / float64(b.BootNs-a.BootNs)
	best := hzCandidates[0]
	for _, c := range hzCandidates {
		if math.Abs(c-hz) < math.Abs(best-hz) {
			best = c
		}
	}
	return ticks{ref: b, nsPerJiffy: uint64(1e9 / best)}, nil
}

// resample takes a fresh reference pair.
func (t *ticks) resample(objs *bpf.Objects) error {
	c, err := objs.SampleClock()
	if err == nil {
		t.ref = c
	}
	return err
}

// bootNs converts jiffies to boot-clock ns (0 stays 0).
func (t *ticks) bootNs(j uint64) uint64 {
	switch {
	case j == 0:
		return 0
	case j >= t.ref.Jiffies:
		return t.ref.BootNs + (j-t.ref.Jiffies)*t.nsPerJiffy
	}
	back := (t.ref.Jiffies - j) * t.nsPerJiffy
	if back > t.ref.BootNs {
		return 0
	}
	return t.ref.BootNs - back
}
