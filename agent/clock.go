package agent

import (
	"time"

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
