// Command teamsflow-bench measures what the agent costs the traffic it
// watches. It floods 64-byte UDP datagrams from one network namespace of
// its own to another over a veth pair, alternates trials with the agent
// off and on, and reads the classifier's run time from the kernel's BPF
// statistics. The last line sums it up for `make bench`.
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

	"github.com/teamsflow/teamsflow/bpf"
)

// Budgets checked by --strict.
const (
	budgetPPSKept = 0.965
	budgetTCNs    = 120.0
)

// config is the command line.
type config struct {
	pairs     int
	manyPairs int
	manyFlows int
	trial     time.Duration
	profile   time.Duration
	warmup    time.Duration
	batch     int
	size      int
	senderCPU int
	nice      int
	noop      bool
	tcOnly    bool
	strict    bool
}

// errParsed marks errors that the flag package has printed already.
var errParsed = errors.New("bad command line")

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("teamsflow-bench", flag.ContinueOnError)
	fs.IntVar(&c.pairs, "pairs", 5, "agent off/on trial pairs with one flow")
	fs.IntVar(&c.manyPairs, "many-pairs", 2, "off/on pairs with many flows (0 skips that measurement)")
	fs.IntVar(&c.manyFlows, "many-flows", 1000, "concurrent flows (sockets) in the many-flow measurement")
	fs.DurationVar(&c.trial, "trial", 2*time.Second, "measured time of a trial")
	fs.DurationVar(&c.profile, "profile", time.Second, "measured time of the extra trial with bpf statistics on")
	fs.DurationVar(&c.warmup, "warmup", 300*time.Millisecond, "sending before each trial's measurement starts")
	fs.IntVar(&c.batch, "batch", 64, "datagrams per sendmmsg call with one flow")
	fs.IntVar(&c.size, "size", 64, "UDP payload bytes")
	fs.IntVar(&c.senderCPU, "sender-cpu", -1, "pin the sender's send loop to this CPU (-1: no pinning)")
	fs.IntVar(&c.nice, "nice", -20, "nice value of the bench, its agent and its sender (0: leave as is)")
	fs.BoolVar(&c.noop, "noop", true, "also run trials with a no-op classifier for the floor")
	fs.BoolVar(&c.tcOnly, "tc-only", false, "also run trials with the agent's classifier alone (adds ~20 s)")
	fs.BoolVar(&c.strict, "strict", false, "exit 3 when a budget is missed")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: teamsflow-bench [flags]   (as root)\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errParsed, err)
	}
	if c.pairs < 1 || c.manyPairs < 0 || c.manyFlows < 1 || c.batch < 1 || c.size < 1 || c.trial <= 0 || c.profile <= 0 {
		return c, errors.New("pairs, many-flows, batch, size, trial and profile must be positive")
	}
	return c, nil
}

func main() {
	if os.Getenv(senderEnv) != "" {
		if err := senderMain(os.Args[1:]); err != nil {
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
	one, many, err := runBench(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "teamsflow-bench: interrupted; namespaces removed")
			return 130
		}
		fmt.Fprintln(os.Stderr, "teamsflow-bench:", oneLine(err))
		return 1
	}
	fmt.Printf("\nrun time %.1f s\n", time.Since(started).Seconds())
	// The budget note comes first so that the summary stays the last line
	// even when stdout and stderr share a terminal or a log.
	missed := budgetMisses(one)
	if len(missed) > 0 {
		fmt.Fprintln(os.Stderr, "teamsflow-bench: budget missed:", strings.Join(missed, ", "))
	}
	fmt.Println(finalLine(one, many))
	if len(missed) > 0 && cfg.strict {
		return 3
	}
	return 0
}

func runBench(ctx context.Context, cfg config) (one, many *series, err error) {
	if os.Geteuid() != 0 {
		return nil, nil, errors.New("must run as root (namespaces, bpf)")
	}
	if cfg.nice != 0 {
		if err := raisePriority(cfg.nice); err != nil {
			// Only the spread of the rates suffers: go on.
			fmt.Fprintln(os.Stderr, "teamsflow-bench: warning:", err)
		}
	}
	topo, err := setupTopology()
	if err != nil {
		return nil, nil, err
	}
	defer func() { err = errors.Join(err, topo.Close()) }()
	b := &bench{ctx: ctx, cfg: cfg, topo: topo}
	if b.noop, err = loadNoop(); err != nil {
		return nil, nil, err
	}
	defer b.noop.Close()
	if b.objs, err = bpf.Load(bpf.Config{}); err != nil {
		return nil, nil, fmt.Errorf("loading the agent's programs: %w", err)
	}
	defer b.objs.Close()
	tc, floor, err := testRunCost(b.objs, b.noop, cfg.size, testRunRepeat)
	if err != nil {
		return nil, nil, err
	}
	fmt.Printf("== test run (BPF_PROG_TEST_RUN x%d, known flow, no statistics overhead)\n"+
		"classifier %.1f ns, no-op %.1f ns, classifier above the no-op %.1f ns\n", testRunRepeat, tc, floor, tc-floor)
	if one, err = b.measure(b.oneFlow()); err != nil {
		return nil, nil, err
	}
	printSeries(one)
	if cfg.manyPairs == 0 {
		return one, nil, nil
	}
	if many, err = b.measure(b.manyFlows()); err != nil {
		return nil, nil, err
	}
	printSeries(many)
	return one, many, nil
}

// testRunRepeat runs of the test harness take about a tenth of a second.
const testRunRepeat = 1_000_000

func (b *bench) oneFlow() measurement {
	modes := []mode{modeOff, modeOn}
	if b.cfg.noop {
		modes = append(modes, modeNoop)
	}
	if b.cfg.tcOnly {
		modes = append(modes, modeTC)
	}
	title := fmt.Sprintf("1 flow: %d-byte UDP, sendmmsg x%d, pairs: %d x (%v + %v with bpf stats), nice %d",
		b.cfg.size, b.cfg.batch, b.cfg.pairs, b.cfg.trial, b.cfg.profile, b.cfg.nice)
	return measurement{title: title, flows: 1, batch: b.cfg.batch, pairs: b.cfg.pairs, modes: modes}
}

// manyFlows sends one datagram per socket in turn, so that consecutive
// packets hit different flow map entries.
func (b *bench) manyFlows() measurement {
	title := fmt.Sprintf("%d flows: one datagram per socket in turn, pairs: %d", b.cfg.manyFlows, b.cfg.manyPairs)
	return measurement{title: title, flows: b.cfg.manyFlows, batch: 1, pairs: b.cfg.manyPairs, modes: []mode{modeOff, modeOn}}
}

func budgetMisses(one *series) []string {
	var missed []string
	if k := ratio(medianPPS(one, modeOn), medianPPS(one, modeOff)); k < budgetPPSKept {
		missed = append(missed, fmt.Sprintf("pps_kept %.3f < %.3f", k, budgetPPSKept))
	}
	if ns := one.tc[modeOn].nsPerRun(); ns > budgetTCNs {
		missed = append(missed, fmt.Sprintf("tc_ns_per_packet %.1f > %.0f", ns, budgetTCNs))
	}
	return missed
}

// oneLine keeps an error (which may quote command output) on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
