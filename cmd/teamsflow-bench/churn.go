package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// churnReport is the flow churn measurement: every short flow the sender
// made must reach the agent with its owner, and nothing may be dropped on
// the way.
type churnReport struct {
	sent       churnResult
	missing    int // flows the agent never reported
	noOwner    int // reported without an owner
	wrongOwner int // reported with another process as owner
	extra      int // flows to the blackhole that the sender did not make
	losses     map[string]uint64
	snapshots  []float64 // Snapshot durations, ms
	snapMax    int       // flows in one snapshot at most
	target     int       // flows per second asked for
}

// lost is churn_lost: flows missing or without the right owner.
func (r *churnReport) lost() int { return r.missing + r.noOwner + r.wrongOwner }

// eventsLost sums the counters of things the kernel or the reader dropped.
func (r *churnReport) eventsLost() uint64 {
	var n uint64
	for _, v := range r.losses {
		n += v
	}
	return n
}

// flowSeen is what the agent said about one churn flow.
type flowSeen struct{ owner uint32 }

// measureChurn runs the agent in-process on the client namespace, as a
// user would, and the churn sender as a process of its own there. The
// bench reads the agent's snapshots at its poll rate and keeps every flow
// to the blackhole it was ever shown.
func (b *bench) measureChurn() (*churnReport, error) {
	fmt.Printf("\n== flow churn: %d new UDP flows/s for %v (socket, connect, one datagram, close), agent in-process\n",
		b.cfg.churnRate, b.cfg.churnDuration)
	dir, err := os.MkdirTemp("", "teamsflow-bench-churn-")
	if err != nil {
		return nil, fmt.Errorf("making a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	a, err := agent.Start(b.agentConfig([]string{b.topo.client.Path()}))
	if err != nil {
		return nil, fmt.Errorf("starting the agent: %w", err)
	}
	defer a.Close()
	before, err := a.Counters()
	if err != nil {
		return nil, err
	}
	args := churnArgs{dst: blackhole, rate: b.cfg.churnRate, duration: b.cfg.churnDuration, out: filepath.Join(dir, "tuples")}
	r := &churnReport{target: b.cfg.churnRate}
	seen, err := b.watchChurn(a, args, r)
	if err != nil {
		return nil, err
	}
	after, err := a.Counters()
	if err != nil {
		return nil, err
	}
	r.losses = lossesBetween(before, after)
	return r, r.compare(args.out, seen)
}

// watchChurn snapshots the agent while the sender runs, then for two more
// poll intervals so the last flows are read too.
func (b *bench) watchChurn(a *agent.Agent, args churnArgs, r *churnReport) (map[uint32]flowSeen, error) {
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := runRole(b.ctx, b.topo.client, roleChurn, args.argv())
		done <- result{out, err}
	}()
	seen := map[uint32]flowSeen{}
	tick := time.NewTicker(time.Second) // the agent's default poll interval
	defer tick.Stop()
	drain := -1
	for drain != 0 {
		select {
		case res := <-done:
			if res.err != nil {
				return nil, res.err
			}
			if _, err := fmt.Sscanf(strings.TrimSpace(res.out), "pid=%d flows=%d elapsed_ns=%d retries=%d",
				&r.sent.pid, &r.sent.flows, &r.sent.elapsed, &r.sent.retries); err != nil {
				return nil, fmt.Errorf("reading the churn sender's result %q: %w", res.out, err)
			}
			drain = 2
		case <-tick.C:
			r.collect(a, seen)
			if drain > 0 {
				drain--
			}
		}
	}
	return seen, nil
}

// collect takes one snapshot and remembers the churn flows in it.
func (r *churnReport) collect(a *agent.Agent, seen map[uint32]flowSeen) {
	start := time.Now()
	snap := a.Snapshot()
	r.snapshots = append(r.snapshots, float64(time.Since(start).Microseconds())/1000)
	r.snapMax = max(r.snapMax, len(snap.Flows))
	for _, f := range snap.Flows {
		key, ok := churnKey(f.ID)
		if !ok {
			continue
		}
		s := seen[key]
		if f.Owner != nil && s.owner == 0 {
			s.owner = f.Owner.PID
		}
		seen[key] = s
	}
	for _, id := range snap.Gone {
		if key, ok := churnKey(id); ok {
			if _, known := seen[key]; !known {
				seen[key] = flowSeen{}
			}
		}
	}
}

// churnKey is a churn flow's (source port, destination port).
func churnKey(id observe.FlowID) (uint32, bool) {
	if id.Transport != 17 || id.Peer.Addr() != blackhole || id.Local.Addr() != clientAddr.Addr() {
		return 0, false
	}
	return uint32(id.Local.Port())<<16 | uint32(id.Peer.Port()), true
}

// compare checks the agent's flows against the tuples the sender wrote.
func (r *churnReport) compare(path string, seen map[uint32]flowSeen) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the churn tuples: %w", err)
	}
	if len(raw) != 4*r.sent.flows {
		return fmt.Errorf("churn tuple file has %d bytes for %d flows", len(raw), r.sent.flows)
	}
	sent := make(map[uint32]bool, r.sent.flows)
	for i := 0; i+4 <= len(raw); i += 4 {
		key := uint32(binary.LittleEndian.Uint16(raw[i:]))<<16 | uint32(binary.LittleEndian.Uint16(raw[i+2:]))
		sent[key] = true
		s, ok := seen[key]
		switch {
		case !ok:
			r.missing++
		case s.owner == 0:
			r.noOwner++
		case s.owner != uint32(r.sent.pid):
			r.wrongOwner++
		}
	}
	for key := range seen {
		if !sent[key] {
			r.extra++
		}
	}
	return nil
}

// lossesBetween is how much each loss counter grew.
func lossesBetween(before, after agent.Counters) map[string]uint64 {
	out := map[string]uint64{}
	for name, v := range after.Losses() {
		if d := v - before.Losses()[name]; d > 0 {
			out[name] = d
		}
	}
	return out
}

func printChurn(r *churnReport) {
	snaps := summarize(r.snapshots)
	fmt.Printf("sent %d flows in %.1f s (%.0f flows/s; %d source ports drawn twice and not used), sender pid %d\n",
		r.sent.flows, r.sent.elapsed.Seconds(), r.sent.rate(), r.sent.retries, r.sent.pid)
	fmt.Printf("agent: missing %d, without owner %d, other owner %d, unexpected %d; losses %v\n",
		r.missing, r.noOwner, r.wrongOwner, r.extra, r.losses)
	fmt.Printf("agent: %d snapshots, %.0f ms median, %.0f ms max; at most %d flows in one snapshot\n",
		len(r.snapshots), snaps.median, snaps.max, r.snapMax)
	fmt.Printf("churn_lost=%d churn_events_lost=%d churn_rate=%.0f\n", r.lost(), r.eventsLost(), r.sent.rate())
}

// misses lists the churn budgets missed: nothing lost, at the rate asked.
func (r *churnReport) misses() []string {
	if r == nil {
		return nil
	}
	var m []string
	if r.lost() > 0 {
		m = append(m, fmt.Sprintf("churn_lost %d > 0 (missing %d, without owner %d, other owner %d)",
			r.lost(), r.missing, r.noOwner, r.wrongOwner))
	}
	if n := r.eventsLost(); n > 0 {
		m = append(m, fmt.Sprintf("churn_events_lost %d > 0 (%v)", n, r.losses))
	}
	if r.sent.rate() < minAchieved*float64(r.target) {
		m = append(m, fmt.Sprintf("churn_rate %.0f < %d flows/s asked: the sender fell short, the budget is untested", r.sent.rate(), r.target))
	}
	return m
}
