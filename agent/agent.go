// Package agent runs teamsflow's pipeline: it loads and attaches the
// kernel programs, reads their events and flow counters into the flow
// table, names the processes, and hands out stream records.
package agent

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/attach"
	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/bpf"
)

// Config says what to watch and how.
type Config struct {
	// Interfaces restricts the classifier to these interface names; empty
	// means every interface, including ones that appear later.
	Interfaces []string
	// Netns lists the network namespaces whose interfaces get the
	// classifier: paths such as /run/netns/NAME, "" for the agent's own.
	// Empty means the agent's own only.
	Netns []string
	// TCMode is how the classifier attaches (auto, tcx, clsact).
	TCMode bpf.TCMode
	// Maps sizes the kernel maps.
	Maps bpf.Config
	// PollInterval is how often the flow map is read.
	PollInterval time.Duration
	// IdleTimeout is how long a flow may be silent before its kernel entry
	// is deleted (its counts stay in the table).
	IdleTimeout time.Duration
	Log         zerolog.Logger
}

func (c *Config) defaults() {
	if len(c.Netns) == 0 {
		c.Netns = []string{""}
	}
	if c.TCMode == "" {
		c.TCMode = bpf.TCAuto
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.Maps.EventBufferBytes == 0 {
		c.Maps.EventBufferBytes = DefaultEventBufferBytes
	}
}

// DefaultEventBufferBytes sizes the kernel's event ring buffer. Its pages
// are mapped twice, so it costs twice its size in resident memory once
// written (a few thousand new sockets write all of it). 1 MiB holds ~8k
// events, ~130 ms at 20k new flows a second: the reader only copies them
// to the event queue, which holds more.
const DefaultEventBufferBytes = 1 << 20

// Agent is the running pipeline.
type Agent struct {
	cfg     Config
	log     zerolog.Logger
	objs    *bpf.Objects
	links   []bpf.Links
	tc      *attach.Manager
	events  *kernel.Events
	queue   *eventQueue
	table   *flow.Table
	procs   *proc.Cache
	clock   Clock
	ticks   ticks
	badEvts atomic.Uint64
	media   media
	stop    chan struct{}
	wg      sync.WaitGroup
	pollMu  sync.Mutex
	// polled is when the last poll began; byLoop says pollLoop made it
	// (both guarded by pollMu).
	polled time.Time
	byLoop bool
	polls  atomic.Uint64 // reads of the flow map so far
	// idle and active are poll's key lists, kept between polls (guarded
	// by pollMu): at 10k flows each poll otherwise made ~1 MB of garbage.
	idle, active []bpf.FlowKey
	rescans      rescanner
}

// Start loads and attaches everything and starts reading. On error nothing
// stays attached.
func Start(cfg Config) (a *Agent, err error) {
	cfg.defaults()
	if err := attach.CheckInterfaces(cfg.Interfaces, cfg.Netns); err != nil {
		return nil, err
	}
	a = &Agent{cfg: cfg, log: cfg.Log.With().Str("component", "agent").Logger(),
		table: flow.NewTable(), procs: proc.NewCache(5 * time.Minute), clock: NewClock(), stop: make(chan struct{}),
		queue: newEventQueue(maxQueuedEventBytes)}
	// "return nil, err" clears a before deferred calls run: keep our own.
	started := a
	defer func() {
		if err != nil {
			started.shutdown()
		}
	}()
	if a.objs, err = bpf.Load(cfg.Maps); err != nil {
		return nil, err
	}
	a.log.Info().Str("variants", bpf.VariantSummary(a.objs.Variants())).Msg("kernel programs loaded")
	if a.ticks, err = calibrateTicks(a.objs); err != nil {
		return nil, err
	}
	if err = a.attachHooks(); err != nil {
		return nil, err
	}
	if a.events, err = kernel.OpenEvents(a.objs); err != nil {
		return nil, err
	}
	a.wg.Add(2)
	go func() { defer a.wg.Done(); a.events.RunRaw(a.queue.push, a.badEvent) }()
	go func() { defer a.wg.Done(); a.queue.run(a.applyEvent, a.stop) }()
	// Backfill after the hooks are in place, so no socket falls in between.
	a.backfill(cfg.Netns)
	a.tc = attach.New(a.objs, cfg.TCMode, cfg.Interfaces, cfg.Log.With().Str("component", "attach").Logger())
	for _, ns := range cfg.Netns {
		if err = a.tc.Watch(ns); err != nil {
			return nil, fmt.Errorf("watching interfaces of %s: %w", nsName(ns), err)
		}
	}
	a.wg.Add(1)
	go a.pollLoop()
	// Loading parsed the kernel's BTF (tens of MB, garbage now): hand the
	// memory back rather than keep it resident for the agent's lifetime.
	debug.FreeOSMemory()
	return a, nil
}

func nsName(path string) string {
	if path == "" {
		return "the host network namespace"
	}
	return path
}

func (a *Agent) attachHooks() error {
	root, err := bpf.OpenCgroupRoot()
	if err != nil {
		return err
	}
	// The attachments hold the cgroup itself: a private mount can go.
	defer root.Close()
	if root.Partial {
		a.log.Warn().Str("cgroup_root", root.Path).Str("why", root.Why).Msg("attaching socket hooks at a cgroup namespace's root, not the host's")
	} else {
		a.log.Info().Str("cgroup_root", root.Path).Str("why", root.Why).Msg("attaching socket hooks at the host's cgroup v2 root")
	}
	socks, err := a.objs.AttachSockets(root.Path)
	if err != nil {
		return err
	}
	a.links = append(a.links, socks)
	procs, err := a.objs.AttachProcesses()
	if err != nil {
		return err
	}
	a.links = append(a.links, procs)
	return nil
}

// HookLinks are the agent's attachments beyond the classifier (cgroup
// socket hooks, sock_ops, exec/exit): `make bench` takes each kind off
// and puts it back to measure what it costs. Closing them is the agent's.
func (a *Agent) HookLinks() []link.Link {
	var out []link.Link
	for _, ls := range a.links {
		out = append(out, ls...)
	}
	return out
}

// Attached lists the interfaces the classifier is on.
func (a *Agent) Attached() []string { return a.tc.Attached() }

// pollLoop reads the flow map every poll interval, unless someone else
// does (the daemon takes a Snapshot every poll interval): each read makes
// a copy of every kernel entry, megabytes of garbage at 10k flows, and a
// second read a few milliseconds after another one tells nothing new.
func (a *Agent) pollLoop() {
	defer a.wg.Done()
	t := time.NewTimer(a.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.pollMu.Lock()
			var err error
			if !time.Now().Before(a.loopPollDue()) {
				err = a.poll()
				a.byLoop = true
			}
			next := a.loopPollDue()
			a.pollMu.Unlock()
			if err != nil {
				a.log.Warn().Err(err).Msg("reading flows")
			}
			a.procs.Prune(time.Now())
			t.Reset(time.Until(next))
		}
	}
}

// loopPollDue is when pollLoop reads next: a poll interval after its own
// read, a quarter more after someone else's, so that it stays out of the
// way of a reader with the same interval however their ticks fall. The
// caller holds pollMu.
func (a *Agent) loopPollDue() time.Time {
	if a.byLoop {
		return a.polled.Add(a.cfg.PollInterval)
	}
	return a.polled.Add(a.cfg.PollInterval + a.cfg.PollInterval/4)
}

// Poll reads the flow map into the table and deletes kernel entries idle
// for longer than the idle timeout, and those of flows whose socket was
// closed before the read.
func (a *Agent) Poll() error {
	a.pollMu.Lock()
	defer a.pollMu.Unlock()
	return a.poll()
}

// poll is Poll; the caller holds pollMu.
func (a *Agent) poll() error {
	a.polled, a.byLoop = time.Now(), false
	a.polls.Add(1)
	if err := a.ticks.resample(a.objs); err != nil {
		return err
	}
	closedGen := a.table.CloseGen()
	cutoff := a.clock.BootNs(time.Now().Add(-a.cfg.IdleTimeout))
	idle, active := a.idle[:0], a.active[:0]
	defer func() { a.idle, a.active = reusable(idle), reusable(active) }()
	err := kernel.ReadFlows(a.objs.Flows(), a.ticks.bootNs, func(f kernel.Flow) {
		a.table.Update(f.Key, f.Stats)
		if max(f.Stats.Dir[0].Last, f.Stats.Dir[1].Last) < cutoff {
			idle = append(idle, f.Key)
		} else {
			active = append(active, f.Key)
		}
	})
	idle = append(idle, a.table.ClosedBy(active, closedGen)...)
	if len(idle) > 0 {
		err = errors.Join(err, kernel.DeleteFlows(a.objs.Flows(), idle))
		for _, k := range idle {
			a.table.Removed(k)
		}
	}
	return errors.Join(err, a.pollRTP(cutoff))
}

// reusable empties a key list for the next poll, unless it is much larger
// than this poll needed: a burst of flows should not stay resident.
func reusable(keys []bpf.FlowKey) []bpf.FlowKey {
	if cap(keys) > 2*len(keys)+1024 {
		return nil
	}
	return keys[:0]
}

// Close reads the flows one last time and detaches everything.
func (a *Agent) Close() error {
	return errors.Join(a.Poll(), a.shutdown())
}

// shutdown stops the readers and detaches everything that was attached.
func (a *Agent) shutdown() error {
	close(a.stop)
	a.rescans.mu.Lock()
	if a.rescans.timer != nil {
		a.rescans.timer.Stop()
	}
	a.rescans.mu.Unlock()
	if a.events != nil {
		a.events.Close()
	}
	a.wg.Wait()
	var errs []error
	if a.tc != nil {
		errs = append(errs, a.tc.Close())
	}
	for _, l := range a.links {
		errs = append(errs, l.Close())
	}
	if a.objs != nil {
		errs = append(errs, a.objs.Close())
	}
	return errors.Join(errs...)
}
