package webrtc

import (
	"context"
	"sync"
)

// Busy keeps n CPUs busy with loops until ctx ends (callers give it a
// deadline, so the load never outlives a test), and returns at once; the
// returned WaitGroup tells when every loop stopped.
func Busy(ctx context.Context, n int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for ctx.Err() == nil {
				for range 100000 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			_ = x
		}()
	}
	return &wg
}
