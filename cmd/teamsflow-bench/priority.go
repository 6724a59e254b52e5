package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// raisePriority sets the nice value of every thread of this process.
// Linux keeps nice per thread and new threads and children inherit their
// creator's, so the agent's threads and the sender end up at the same
// priority: they still compete with each other as an application and the
// agent would, while other work on the machine (builds, tests) no longer
// takes their cores and scatters the packet rates.
func raisePriority(nice int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("setting nice %d: %w", nice, err)
		}
	}
	return nil
}
