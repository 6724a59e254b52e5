package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-bench/internal/refcount"
)

// results holds every measurement that ran; nil ones were not selected.
type results struct {
	one, many *series
	unconn    *series // the unconnected flood
	tcp       *tcpReport
	cpu       *cpuReport
	rss       *rssReport
	churn     *churnReport
}

// step is one selected measurement.
type step struct {
	name string
	run  func(b *bench, r *results) error
}

// steps run in this order: the packet-rate measurements first, while
// nothing else of the bench has run, then the daemon's, then the churn,
// which leaves the most behind (tens of thousands of closed sockets).
var steps = []step{
	{"udp", func(b *bench, r *results) (err error) {
		r.one, err = b.measure(b.oneFlow())
		if err == nil {
			printSeries(r.one)
		}
		return err
	}},
	{"unconn", func(b *bench, r *results) (err error) {
		r.unconn, err = b.measure(b.unconnectedFlow())
		if err == nil {
			printSeries(r.unconn)
		}
		return err
	}},
	{"many", func(b *bench, r *results) (err error) {
		r.many, err = b.measure(b.manyFlows())
		if err == nil {
			printSeries(r.many)
		}
		return err
	}},
	{"tcp", func(b *bench, r *results) (err error) {
		r.tcp, err = b.measureTCP()
		if err == nil {
			printTCP(r.tcp)
		}
		return err
	}},
	{"cpu", func(b *bench, r *results) (err error) {
		r.cpu, err = b.measureCPU()
		if err == nil {
			printCPU(r.cpu)
		}
		return err
	}},
	{"rss", func(b *bench, r *results) (err error) {
		r.rss, err = b.measureRSS()
		if err == nil {
			printRSS(r.rss)
		}
		return err
	}},
	{"churn", func(b *bench, r *results) (err error) {
		r.churn, err = b.measureChurn()
		if err == nil {
			printChurn(r.churn)
		}
		return err
	}},
}

func runBench(ctx context.Context, cfg config) (res *results, err error) {
	if err := checkRoot(); err != nil {
		return nil, err
	}
	if cfg.nice != 0 {
		if err := raisePriority(cfg.nice); err != nil {
			// Only the spread of the rates suffers: go on.
			fmt.Println("warning:", err)
		}
	}
	topo, err := setupTopology()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, topo.Close()) }()
	b := &bench{ctx: ctx, cfg: cfg, topo: topo}
	defer b.close()
	if err := b.prepare(); err != nil {
		return nil, err
	}
	res = &results{}
	for _, s := range steps {
		if !cfg.runs(s.name) {
			continue
		}
		start := time.Now()
		if err := s.run(b, res); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Printf("(%s took %.1f s)\n", s.name, time.Since(start).Seconds())
	}
	return res, nil
}

// prepare loads what the packet-rate measurements need and builds the
// daemon for the daemon's measurements.
func (b *bench) prepare() (err error) {
	if b.cfg.runs("udp") || b.cfg.runs("unconn") || b.cfg.runs("many") {
		if b.noop, err = loadNoop(); err != nil {
			return err
		}
		if b.ref, err = refcount.Load(); err != nil {
			return err
		}
		if b.objs, err = bpf.Load(bpf.Config{}); err != nil {
			return fmt.Errorf("loading the agent's programs: %w", err)
		}
		tc, floor, err := testRunCost(b.objs, b.noop, b.cfg.size, testRunRepeat)
		if err != nil {
			return err
		}
		fmt.Printf("== test run (BPF_PROG_TEST_RUN x%d, known flow, no statistics overhead)\n"+
			"classifier %.1f ns, no-op %.1f ns, classifier above the no-op %.1f ns\n", testRunRepeat, tc, floor, tc-floor)
	}
	if b.cfg.runs("cpu") || b.cfg.runs("rss") {
		if b.daemonBin, b.binDir, err = daemonBinary(b.cfg.teamsflowBin); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) close() {
	if b.noop != nil {
		b.noop.Close()
	}
	if b.ref != nil {
		b.ref.Close()
	}
	if b.objs != nil {
		b.objs.Close()
	}
	if b.binDir != "" {
		removeAll(b.binDir)
	}
}

// testRunRepeat runs of the test harness take about a tenth of a second.
const testRunRepeat = 1_000_000
