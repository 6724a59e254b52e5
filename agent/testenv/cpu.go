package testenv

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// OnOneCPU keeps the calling test on CPU 0, for tests of per-CPU kernel
// state (budgets, per-CPU map slots) that must see packets in order, as
// the Go twin, which models one CPU, does. The thread stays locked, so it
// ends with the test instead of going back, pinned, to the scheduler.
func OnOneCPU(t testing.TB) {
	t.Helper()
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
}
