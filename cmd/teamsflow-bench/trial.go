package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// trialResult is what one sender run measured.
type trialResult struct {
	packets uint64
	errors  uint64
	elapsed time.Duration
	cpu     time.Duration // the sender thread's CPU time
	marks   []mark        // packets sent by when, in a switched trial
	onPPS   float64       // a switched trial's median rate with the programs on
}

func (r trialResult) pps() float64 {
	if r.onPPS > 0 {
		return r.onPPS
	}
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.packets) / r.elapsed.Seconds()
}

// cpuPPS is packets per CPU-second of the sender: unlike pps, it does not
// drop when other processes take the sender's core.
func (r trialResult) cpuPPS() float64 {
	if r.cpu <= 0 {
		return 0
	}
	return r.pps() * r.elapsed.Seconds() / r.cpu.Seconds()
}

// runSender runs one flood from the client namespace.
func runSender(ctx context.Context, t *topology, a senderArgs) (trialResult, error) {
	out, err := runRole(ctx, t.client, roleFlood, a.argv())
	if err != nil {
		return trialResult{}, err
	}
	return parseResult(out)
}

// parseResult reads the sender's output: its result line and, from a
// switched trial, its marks.
func parseResult(out string) (trialResult, error) {
	line, marks, hasMarks := strings.Cut(strings.TrimSpace(out), "\n")
	var r trialResult
	if hasMarks {
		var err error
		if r.marks, err = parseMarks(marks); err != nil {
			return r, err
		}
	}
	var ns, cpu int64
	_, err := fmt.Sscanf(strings.TrimSpace(line), "packets=%d errors=%d elapsed_ns=%d cpu_ns=%d", &r.packets, &r.errors, &ns, &cpu)
	if err != nil {
		return r, fmt.Errorf("reading the sender's result %q: %w", line, err)
	}
	r.elapsed, r.cpu = time.Duration(ns), time.Duration(cpu)
	if r.packets == 0 {
		return r, fmt.Errorf("the sender sent nothing (%d send errors)", r.errors)
	}
	return r, nil
}
