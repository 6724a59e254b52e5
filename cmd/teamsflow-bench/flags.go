package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Measurements that --only selects, in the order they run.
var measurementNames = []string{"udp", "unconn", "many", "tcp", "cpu", "rss", "churn"}

// config is the command line.
type config struct {
	only        map[string]bool
	quick       bool
	pairs       int
	manyPairs   int
	manyFlows   int
	trial       time.Duration
	switchEvery time.Duration
	profile     time.Duration
	warmup      time.Duration
	batch       int
	size        int
	senderCPU   int
	nice        int
	noop        bool
	ref         bool
	both        bool
	tcOnly      bool
	hooks       bool
	strict      bool

	tcpPairs      int
	tcpTrial      time.Duration
	cpuWindow     time.Duration
	cpuRates      []int
	rssFlows      int
	churnRate     int
	churnDuration time.Duration
	teamsflowBin  string
	flowSlots     int
}

// runs says whether a measurement was selected.
func (c config) runs(name string) bool { return c.only[name] }

// errParsed marks errors that the flag package has printed already.
var errParsed = errors.New("bad command line")

func parseFlags(args []string) (config, error) {
	c := config{cpuRates: []int{10_000, 200_000}}
	var only string
	fs := flag.NewFlagSet("teamsflow-bench", flag.ContinueOnError)
	fs.StringVar(&only, "only", strings.Join(measurementNames, ","), "measurements to run: "+strings.Join(measurementNames, ", "))
	fs.BoolVar(&c.quick, "quick", false, "shorter trials, fewer pairs, shorter churn (a minute or two; figures scatter more)")
	fs.IntVar(&c.pairs, "pairs", 5, "agent off/on trial pairs with one flow")
	fs.IntVar(&c.manyPairs, "many-pairs", 5, "off/on pairs with many flows")
	fs.IntVar(&c.manyFlows, "many-flows", 1000, "concurrent flows (sockets) in the many-flow measurement")
	fs.DurationVar(&c.trial, "trial", 2*time.Second, "measured time of a trial")
	fs.DurationVar(&c.switchEvery, "switch-every", 100*time.Millisecond,
		"take the programs off and put them back this often within a trial, for kept rates from spells side by side (0: whole trials only)")
	fs.DurationVar(&c.profile, "profile", time.Second, "measured time of the extra trial with bpf statistics on")
	fs.DurationVar(&c.warmup, "warmup", 300*time.Millisecond, "sending before each trial's measurement starts")
	fs.IntVar(&c.batch, "batch", 64, "datagrams per sendmmsg call with one flow")
	fs.IntVar(&c.size, "size", 64, "UDP payload bytes")
	fs.IntVar(&c.senderCPU, "sender-cpu", -1, "pin the sender's send loop to this CPU (-1: no pinning)")
	fs.IntVar(&c.nice, "nice", -20, "nice value of the bench, its agent and its sender (0: leave as is)")
	fs.BoolVar(&c.noop, "noop", true, "also run trials with a no-op classifier for the floor")
	fs.BoolVar(&c.ref, "ref", true, "also run trials with a minimal per-flow counter (refcount/), for what counting per flow costs by itself")
	fs.BoolVar(&c.both, "both", true, "also run trials with the agent on both namespaces (pps_kept_both)")
	fs.BoolVar(&c.hooks, "hooks", true, "in the unconnected measurement, also switch each kind of the agent's hooks on its own (switched trials only)")
	fs.BoolVar(&c.tcOnly, "tc-only", false, "also run trials with the agent's classifier alone (adds ~20 s)")
	fs.BoolVar(&c.strict, "strict", false, "exit 3 when a budget is missed")
	fs.IntVar(&c.tcpPairs, "tcp-pairs", 5, "agent off/on pairs of the TCP bulk measurement")
	fs.DurationVar(&c.tcpTrial, "tcp-trial", 2*time.Second, "measured time of a TCP bulk trial")
	fs.DurationVar(&c.cpuWindow, "cpu-window", 10*time.Second, "time over which the daemon's CPU is read at each rate")
	fs.Func("cpu-rates", "RTP packets/s at which the daemon's CPU is read (default 10000,200000)", func(s string) error {
		r, err := parseRates(s)
		c.cpuRates = r
		return err
	})
	fs.IntVar(&c.rssFlows, "rss-flows", 10_000, "concurrent flows while the daemon's memory is read")
	fs.IntVar(&c.churnRate, "churn-rate", 20_000, "new short flows per second in the churn measurement")
	fs.DurationVar(&c.churnDuration, "churn-duration", 30*time.Second, "time the churn lasts")
	fs.IntVar(&c.flowSlots, "flow-slots", 0, "the in-process agent's flow slots per CPU (0: the default, -1: none)")
	fs.StringVar(&c.teamsflowBin, "teamsflow", "", "teamsflow binary for the daemon measurements (default: built from this module as make package does, static)")
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
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.only, err = parseOnly(only); err != nil {
		return c, err
	}
	if c.quick {
		c.applyQuick(fs)
	}
	return c, c.check()
}

// applyQuick shortens what the user did not set.
func (c *config) applyQuick(fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	quick := map[string]func(){
		"pairs":          func() { c.pairs = 3 },
		"many-pairs":     func() { c.manyPairs = 1 },
		"trial":          func() { c.trial = time.Second },
		"profile":        func() { c.profile = 500 * time.Millisecond },
		"tcp-pairs":      func() { c.tcpPairs = 3 },
		"tcp-trial":      func() { c.tcpTrial = time.Second },
		"cpu-window":     func() { c.cpuWindow = 4 * time.Second },
		"churn-duration": func() { c.churnDuration = 5 * time.Second },
	}
	for name, apply := range quick {
		if !set[name] {
			apply()
		}
	}
}

func (c config) check() error {
	switch {
	case c.pairs < 1 || c.manyPairs < 1 || c.tcpPairs < 1:
		return errors.New("pairs, many-pairs and tcp-pairs must be positive")
	case c.manyFlows < 1 || c.batch < 1 || c.size < 1 || c.rssFlows < 1 || c.churnRate < 1:
		return errors.New("many-flows, batch, size, rss-flows and churn-rate must be positive")
	case c.trial <= 0 || c.profile <= 0 || c.tcpTrial <= 0 || c.cpuWindow <= 0 || c.churnDuration <= 0:
		return errors.New("trial, profile, tcp-trial, cpu-window and churn-duration must be positive")
	case c.switchEvery < 0 || (c.switchEvery > 0 && c.switchEvery < 20*time.Millisecond):
		return errors.New("switch-every must be 0 (off) or at least 20ms")
	case c.switchEvery > 0 && c.trial < 5*c.switchEvery:
		return fmt.Errorf("trial (%v) must be at least 5 times switch-every (%v)", c.trial, c.switchEvery)
	}
	return nil
}

func parseOnly(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(measurementNames, name) {
			return nil, fmt.Errorf("--only: unknown measurement %q (known: %s)", name, strings.Join(measurementNames, ", "))
		}
		out[name] = true
	}
	return out, nil
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive packet rate", f)
		}
		out = append(out, n)
	}
	return out, nil
}
