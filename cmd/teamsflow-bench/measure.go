package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-bench/internal/refcount"
)

// mode is what watches the client's veth during a trial.
type mode int

const (
	modeOff      mode = iota // nothing attached
	modeOn                   // the full agent (agent.Start on the client namespace)
	modeNoop                 // only the no-op classifier, for the floor
	modeTC                   // only the agent's classifier, without the rest of the agent
	modeBoth                 // the full agent on both namespaces: both ends of the veth
	modeRef                  // only the reference flow counter (refcount/): per-flow counting at its least
	modeNoopBoth             // the no-op where the agent's classifiers see the flood in modeBoth: the floor of both
	modeOnDgram              // the full agent with the per-datagram cgroup hooks (bpf.Config.DatagramHooks), as before issue #24
	modeRefBoth              // the reference counter where modeBoth's classifiers see the flood: per-flow counting at its least, on both ends
	// modeHook+k: the full agent on the client namespace, where the switch
	// takes only hooks of kind k off and puts them back (hooks.go).
	modeHook mode = 100
)

func (m mode) String() string {
	if k, ok := m.hookKind(); ok {
		return "hook:" + k.String()
	}
	return [...]string{"off", "on", "noop", "tc", "both", "ref", "noop-both", "on-dgram", "ref-both"}[m]
}

// hookKind is the kind a per-kind mode switches.
func (m mode) hookKind() (hookKind, bool) {
	if m >= modeHook && m < modeHook+mode(kindCount) {
		return hookKind(m - modeHook), true
	}
	return 0, false
}

// hookModes are the per-kind modes, one for every kind of the agent's hooks.
func hookModes() []mode {
	var out []mode
	for k := range kindCount {
		out = append(out, modeHook+mode(k))
	}
	return out
}

// measurement is one series of alternating trials.
type measurement struct {
	title string
	flows int
	batch int
	pairs int
	modes []mode
	// unconnected: one unconnected socket sends with sendto (an address
	// on every datagram) and the bench reads the sink with recvfrom, as
	// WebRTC media, DNS resolvers and QUIC servers do.
	unconnected bool

	switchEvery time.Duration // 0: whole trials only
}

// series is a measurement's results.
type series struct {
	m          measurement
	trials     map[mode][]trialResult // statistics off, one per pair
	statTrials map[mode][]trialResult // profiled, statistics on
	tc         map[mode]runStats      // classifier run time in profiled trials
	switched   map[mode][]float64     // spells on over the spells off around them (interleave.go)
	agentCPU   time.Duration          // the bench process's CPU time during ON trials
	agentWall  time.Duration
	starts     []float64 // agent.Start durations, ms
}

// bench holds what every trial needs.
type bench struct {
	ctx  context.Context
	cfg  config
	topo *topology
	noop *ebpf.Program
	ref  *refcount.Counter
	objs *bpf.Objects // the agent's programs, loaded but not attached

	daemonBin string // teamsflow, for the daemon's measurements
	binDir    string // where the bench built it, removed at the end
}

func (b *bench) oneFlow() measurement {
	modes := []mode{modeOff, modeOn}
	if b.cfg.both {
		modes = append(modes, modeBoth)
	}
	modes = append(modes, b.floorModes()...)
	modes = append(modes, b.bothFloorModes()...)
	if b.cfg.tcOnly {
		modes = append(modes, modeTC)
	}
	if b.cfg.hooks && b.cfg.switchEvery > 0 {
		// The classifier switched alone: where a miss of pps_kept lies.
		modes = append(modes, modeHook+mode(kindTC))
	}
	title := fmt.Sprintf("1 flow: %d-byte UDP, sendmmsg x%d, pairs: %d x (%v + %v with bpf stats), nice %d",
		b.cfg.size, b.cfg.batch, b.cfg.pairs, b.cfg.trial, b.cfg.profile, b.cfg.nice)
	return measurement{title: title, flows: 1, batch: b.cfg.batch, pairs: b.cfg.pairs, modes: modes, switchEvery: b.cfg.switchEvery}
}

// unconnectedFlow is oneFlow with sendto and recvfrom, beside the
// agent as it was before issue #24 (on-dgram) and every hook kind
// switched on its own.
func (b *bench) unconnectedFlow() measurement {
	modes := []mode{modeOff, modeOn, modeOnDgram}
	if b.cfg.both {
		modes = append(modes, modeBoth)
	}
	modes = append(modes, b.floorModes()...)
	modes = append(modes, b.bothFloorModes()...)
	if b.cfg.hooks && b.cfg.switchEvery > 0 {
		modes = append(modes, hookModes()...)
	}
	title := fmt.Sprintf("1 flow, unconnected: %d-byte UDP, sendmmsg x%d with an address on each, the sink read with recvmmsg and addresses, pairs: %d",
		b.cfg.size, b.cfg.batch, b.cfg.pairs)
	return measurement{title: title, flows: 1, batch: b.cfg.batch, pairs: b.cfg.pairs, modes: modes, unconnected: true,
		switchEvery: b.cfg.switchEvery}
}

// manyFlows sends one datagram per socket in turn, so that consecutive
// packets hit different flow map entries.
func (b *bench) manyFlows() measurement {
	title := fmt.Sprintf("%d flows: one datagram per socket in turn, pairs: %d", b.cfg.manyFlows, b.cfg.manyPairs)
	modes := []mode{modeOff, modeOn}
	modes = append(modes, b.floorModes()...)
	return measurement{title: title, flows: b.cfg.manyFlows, batch: 1, pairs: b.cfg.manyPairs, modes: modes,
		switchEvery: b.cfg.switchEvery}
}

// measure runs the pairs. Odd pairs run the modes in reverse order so
// that a drift in the machine's speed during the run does not favour the
// mode that always comes first.
func (b *bench) measure(m measurement) (*series, error) {
	s := &series{m: m, trials: map[mode][]trialResult{}, statTrials: map[mode][]trialResult{}, tc: map[mode]runStats{},
		switched: map[mode][]float64{}}
	printTrialHeader(m)
	if m.unconnected {
		stop, err := readSink(b.topo.sink)
		if err != nil {
			return nil, err
		}
		defer func() {
			if n := stop(); n > 0 {
				fmt.Printf("the sink read %d datagrams with their addresses\n", n)
			}
		}()
	}
	for i := range m.pairs {
		order := slices.Clone(m.modes)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, md := range order {
			if err := b.trial(s, md); err != nil {
				return nil, fmt.Errorf("%s, pair %d, agent %s: %w", m.title, i+1, md, err)
			}
			printTrial(s, i+1, md)
		}
	}
	return s, nil
}

func (b *bench) trial(s *series, md mode) error {
	if _, ok := md.hookKind(); ok {
		return b.agentTrial(s, md)
	}
	switch md {
	case modeOn, modeBoth, modeOnDgram:
		return b.agentTrial(s, md)
	case modeNoop:
		return b.egressOnlyTrial(s, md, b.noop)
	case modeNoopBoth:
		return b.bothEndsTrial(s, md, b.noop)
	case modeRefBoth:
		return b.bothEndsTrial(s, md, b.ref.Program())
	case modeRef:
		return b.egressOnlyTrial(s, md, b.ref.Program())
	case modeTC:
		return b.classifierTrial(s)
	}
	r, err := runSender(b.ctx, b.topo, b.senderArgs(s.m, b.cfg.trial))
	if err != nil {
		return err
	}
	s.trials[md] = append(s.trials[md], r)
	return nil
}

func (b *bench) senderArgs(m measurement, d time.Duration) senderArgs {
	return senderArgs{dst: b.topo.dst, flows: m.flows, batch: m.batch, size: b.cfg.size,
		cpu: b.cfg.senderCPU, warmup: b.cfg.warmup, duration: d, unconnected: m.unconnected}
}

// agentTrial starts the whole agent for one trial, as a user would: the
// socket hooks, the process tracepoints, the classifier on every interface
// of the client namespace (and of the server's, in modeBoth), and the
// agent's own readers.
func (b *bench) agentTrial(s *series, md mode) (err error) {
	ends := []end{{b.topo.client, b.topo.clientIf}}
	if md == modeBoth {
		ends = append(ends, end{b.topo.server, b.topo.serverIf})
	}
	var paths []string
	for _, e := range ends {
		paths = append(paths, e.ns.Path())
	}
	kind, perKind := md.hookKind()
	cfg := b.agentConfig(paths)
	cfg.Maps.DatagramHooks = md == modeOnDgram || (perKind && kind == kindDgram)
	start := time.Now()
	a, err := agent.Start(cfg)
	if err != nil {
		return fmt.Errorf("starting the agent: %w", err)
	}
	if md == modeOn {
		s.starts = append(s.starts, float64(time.Since(start).Microseconds())/1000)
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	var found []attachedProg
	defer func() { programsOf(found).Close() }()
	for _, e := range ends {
		p, err := attachedTC(e.ns, e.iface, "tf_tc")
		if err != nil {
			return err
		}
		found = append(found, p...)
		if len(p) != 2 {
			return fmt.Errorf("the agent attached %d tf_tc programs to %s, want ingress and egress", len(p), e.iface)
		}
	}
	progs := programsOf(found)
	var sw *tcxSwitch
	if s.m.switchEvery > 0 {
		var others []attachedProg
		defer func() { programsOf(others).Close() }()
		var hooks []agentHook
		defer func() { closeHooks(hooks) }()
		if sw, progs, others, hooks, err = b.switchFor(a, md, found, ends); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, sw.Close()) }()
	}
	return b.timedTrials(s, md, progs, sw)
}

// agentElsewhere finds the agent's programs on the other interfaces of
// the ends' namespaces (their loopbacks).
func (b *bench) agentElsewhere(ends []end) ([]attachedProg, error) {
	var found []attachedProg
	for _, e := range ends {
		var names []string
		err := e.ns.Do(func() error {
			ifs, err := net.Interfaces()
			for _, ifi := range ifs {
				if ifi.Name != e.iface {
					names = append(names, ifi.Name)
				}
			}
			return err
		})
		if err != nil {
			return found, fmt.Errorf("listing the interfaces of %s: %w", e.ns.Name, err)
		}
		for _, name := range names {
			p, err := attachedTC(e.ns, name, "tf_tc")
			found = append(found, p...)
			if err != nil {
				return found, err
			}
		}
	}
	return found, nil
}

// end is one end of the veth pair.
type end struct {
	ns    netns.Named
	iface string
}

// floorModes are the trials with a program other than the agent's, as
// selected: the no-op and the reference flow counter.
func (b *bench) floorModes() []mode {
	var modes []mode
	if b.cfg.noop {
		modes = append(modes, modeNoop)
	}
	if b.cfg.ref {
		modes = append(modes, modeRef)
	}
	return modes
}

// egressOnlyTrial attaches one program of the bench's own (the no-op or
// the reference counter) where the agent's classifier sees the flood.
func (b *bench) egressOnlyTrial(s *series, md mode, p *ebpf.Program) error {
	ifindex, err := interfaceIn(b.topo.client, b.topo.clientIf)
	if err != nil {
		return err
	}
	return b.ownProgramsTrial(s, md, []tcxPoint{{ns: b.topo.client, ifindex: ifindex, attach: ebpf.AttachTCXEgress, prog: p}})
}

// bothFloorModes are the floors of modeBoth, as selected: the no-op and
// the reference counter where the flood meets the agent's classifiers on
// both ends.
func (b *bench) bothFloorModes() []mode {
	var modes []mode
	if b.cfg.both && b.cfg.noop {
		modes = append(modes, modeNoopBoth)
	}
	if b.cfg.both && b.cfg.ref {
		modes = append(modes, modeRefBoth)
	}
	return modes
}

// bothEndsTrial attaches p where the flood meets the agent's classifiers
// in modeBoth: the client's egress and the server's ingress. With the
// no-op, what the kernel's hooks on both ends cost before any work; with
// the reference counter, what counting per flow on both ends costs.
func (b *bench) bothEndsTrial(s *series, md mode, p *ebpf.Program) error {
	client, err := interfaceIn(b.topo.client, b.topo.clientIf)
	if err != nil {
		return err
	}
	server, err := interfaceIn(b.topo.server, b.topo.serverIf)
	if err != nil {
		return err
	}
	return b.ownProgramsTrial(s, md, []tcxPoint{
		{ns: b.topo.client, ifindex: client, attach: ebpf.AttachTCXEgress, prog: p},
		{ns: b.topo.server, ifindex: server, attach: ebpf.AttachTCXIngress, prog: p}})
}

// ownProgramsTrial runs a trial with programs of the bench's own at the
// points, switched like the agent's or on for the whole trial.
func (b *bench) ownProgramsTrial(s *series, md mode, points []tcxPoint) error {
	sw := &tcxSwitch{}
	for _, p := range points {
		sw.points = append(sw.points, p)
	}
	if err := sw.on(); err != nil {
		return err
	}
	defer sw.Close()
	var progs progSet
	for _, p := range points {
		if !slices.Contains(progs, p.prog) {
			progs = append(progs, p.prog)
		}
	}
	var switching *tcxSwitch // nil: attached for the whole trial
	if s.m.switchEvery > 0 {
		switching = sw
	}
	return b.timedTrials(s, md, progs, switching)
}

// classifierTrial attaches the agent's classifier alone, as the agent
// would on the veth: what the full agent costs beyond it comes from its
// other hooks and its user-space work.
func (b *bench) classifierTrial(s *series) error {
	var att *bpf.TCAttachment
	err := b.topo.client.Do(func() error {
		ifi, err := net.InterfaceByName(b.topo.clientIf)
		if err != nil {
			return err
		}
		att, err = b.objs.AttachTC(ifi.Index, true, bpf.TCX)
		return err
	})
	if err != nil {
		return fmt.Errorf("attaching the classifier alone: %w", err)
	}
	defer att.Close()
	return b.timedTrials(s, modeTC, progSet{b.objs.Classifier(true)}, nil)
}

// timedTrials runs one trial for the packet rate with statistics off,
// switching the programs off and on with sw if not nil, then a shorter
// one with them on and statistics on for the classifier's run time.
func (b *bench) timedTrials(s *series, md mode, progs progSet, sw *tcxSwitch) error {
	var r trialResult
	var err error
	if sw != nil {
		var sp spellResult
		r, sp, err = b.switchedTrial(s.m, sw)
		s.switched[md] = append(s.switched[md], sp.ratios...)
	} else {
		r, err = b.agentCPUDuring(s, md, func() (trialResult, error) {
			return runSender(b.ctx, b.topo, b.senderArgs(s.m, b.cfg.trial))
		})
	}
	if err != nil {
		return err
	}
	s.trials[md] = append(s.trials[md], r)
	var pr trialResult
	st, err := profile(progs, func() error {
		pr, err = b.agentCPUDuring(s, md, func() (trialResult, error) {
			return runSender(b.ctx, b.topo, b.senderArgs(s.m, b.cfg.profile))
		})
		return err
	})
	if err != nil {
		return err
	}
	s.tc[md] = s.tc[md].add(st)
	s.statTrials[md] = append(s.statTrials[md], pr)
	return nil
}

// agentCPUDuring runs a trial that does not switch (switching costs the
// bench process CPU too) and, in modeOn, adds the process's CPU time in it
// to the agent's.
func (b *bench) agentCPUDuring(s *series, md mode, trial func() (trialResult, error)) (trialResult, error) {
	cpu0, wall0 := processCPU(), time.Now()
	r, err := trial()
	if err == nil && md == modeOn {
		s.agentCPU += processCPU() - cpu0
		s.agentWall += time.Since(wall0)
	}
	return r, err
}

// processCPU is this process's user+system time: with the agent running
// in it, the agent's cost on the CPU the sender competes for.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// agentConfig is how the bench starts the in-process agent on the given
// namespaces: defaults, but for the flow slots --flow-slots asks for.
func (b *bench) agentConfig(netns []string) agent.Config {
	return agent.Config{Netns: netns, Log: zerolog.Nop(), Maps: bpf.Config{FlowSlots: b.cfg.flowSlots}}
}
