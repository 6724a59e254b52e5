package webrtc

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
)

// Busy keeps n CPUs busy until ctx ends (callers give it a deadline) and
// returns at once; the WaitGroup tells when every loop has ended. The
// loops are shell processes of their own, so the kernel shares the CPUs
// between them, the browser, the agent and the peer as on a loaded
// machine, instead of one Go scheduler starving the test's own peer.
// Each also stops by itself after limitSeconds.
func Busy(ctx context.Context, n, limitSeconds int) (*sync.WaitGroup, error) {
	var wg sync.WaitGroup
	script := fmt.Sprintf("end=$(($(date +%%s)+%d)); while [ $(date +%%s) -lt $end ]; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; done", limitSeconds)
	for range n {
		cmd := exec.Command("sh", "-c", script)
		if err := cmd.Start(); err != nil {
			return &wg, fmt.Errorf("starting a busy loop: %w", err)
		}
		wg.Add(1)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done); wg.Done() }()
		go func() {
			select {
			case <-ctx.Done():
				_ = cmd.Process.Kill()
			case <-done:
			}
		}()
	}
	return &wg, nil
}
