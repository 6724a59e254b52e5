// Command teamsflow-bench measures what the agent costs the traffic it
// watches and what it costs the host, against the budgets of issue #8. It
// builds two network namespaces of its own joined by a veth pair and, side
// by side in one run:
//   - floods 64-byte UDP datagrams with the agent off and on in
//     alternating trials (agent in the sender's namespace, then on both
//     ends), and reads the classifier's run time from the kernel's BPF
//     statistics, with 1 and with 1000 flows;
//   - sends one TCP bulk stream with the agent off and on;
//   - runs the real daemon (teamsflow run) and reads its CPU while RTP
//     media flows at a call's rate and at a flood's, and its memory with
//     10k concurrent flows;
//   - opens 20k short flows per second and checks that the agent reports
//     every one with its owner.
//
// The last line sums it up for `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if ok, err := roleMain(os.Args[1:]); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "teamsflow-bench sender:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		// The flag package has already reported its own errors.
		if !errors.Is(err, errParsed) {
			fmt.Fprintln(os.Stderr, "teamsflow-bench:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg)
	stop()
	os.Exit(code)
}

// run returns the exit status: 0, 1 on errors, 3 on a budget missed
// under --strict, 130 when interrupted.
func run(ctx context.Context, cfg config) int {
	started := time.Now()
	res, err := runBench(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "teamsflow-bench: interrupted; namespaces removed")
			return 130
		}
		fmt.Fprintln(os.Stderr, "teamsflow-bench:", oneLine(err))
		return 1
	}
	fmt.Printf("\nrun time %.1f s\n", time.Since(started).Seconds())
	// The budget notes come first so that the summary stays the last line
	// even when stdout and stderr share a terminal or a log.
	missed := res.budgetMisses()
	for _, m := range missed {
		fmt.Fprintln(os.Stderr, "teamsflow-bench: budget missed:", m)
	}
	fmt.Println(res.finalLine())
	if len(missed) > 0 && cfg.strict {
		return 3
	}
	return 0
}

// oneLine keeps an error (which may quote command output) on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
