package agent

import (
	"sync"
	"time"

	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// maxPendingSamples bounds the DNS/ClientHello samples waiting for the next
// snapshot; more are dropped and counted.
const maxPendingSamples = 4096

// maxAncestors bounds the process ancestry attached to an owner.
const maxAncestors = 4

// media keeps what the kernel told about RTP sources and payload samples
// between snapshots.
type media struct {
	mu sync.Mutex
	// rtp holds the RTP sources by flow, so that forgetting an expired
	// flow does not scan every source of every other flow.
	rtp     map[bpf.FlowKey]map[bpf.RTPKey]bpf.RTPStats
	samples []contract.Sample
	dropped uint64 // samples dropped because too many were pending
}

func (m *media) addSample(s *contract.Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) >= maxPendingSamples {
		m.dropped++
		return
	}
	m.samples = append(m.samples, *s)
}

// pollRTP reads the RTP map and deletes sources idle since before cutoff.
func (a *Agent) pollRTP(cutoffNs uint64) error {
	entries, err := kernel.ReadRTP(a.objs.RTP())
	a.media.mu.Lock()
	var idle []bpf.RTPKey
	for _, e := range entries {
		a.media.putRTP(e.Key, e.Stats)
		if e.Stats.LastNs < cutoffNs {
			idle = append(idle, e.Key)
		}
	}
	a.media.mu.Unlock()
	if len(idle) > 0 && err == nil {
		err = kernel.DeleteRTP(a.objs.RTP(), idle)
	}
	return err
}

// Snapshot reads the kernel afresh and returns what changed as
// observations for the analysis pipeline: the flows whose counts, owner or
// closed state moved since the previous snapshot, with their owners
// (OnlyChanged: a running flow left out had no traffic), every RTP source,
// the payload samples since the last snapshot, and the flows forgotten
// since then (idle past the idle timeout, or closed).
func (a *Agent) Snapshot() observe.Snapshot {
	if err := a.Poll(); err != nil {
		a.log.Warn().Err(err).Msg("reading flows")
	}
	return a.snapshotAt(time.Now())
}

// socketSilence is how long an open socket that no flow uses may go
// unheard of before the flow table forgets it (flow.Table.Expire): its
// close event may have been lost.
const socketSilence = time.Hour

// snapshotAt turns the flow table and the RTP sources into observations;
// flows idle since before now minus the idle timeout are forgotten.
func (a *Agent) snapshotAt(now time.Time) observe.Snapshot {
	snap := observe.Snapshot{Time: now, OnlyChanged: true}
	cutoff := a.clock.BootNs(now.Add(-a.cfg.IdleTimeout))
	for _, f := range a.table.Expire(cutoff, now.Add(-a.cfg.IdleTimeout), now.Add(-max(socketSilence, a.cfg.IdleTimeout))) {
		snap.Gone = append(snap.Gone, observe.FlowIDOf(f.Key))
		a.media.forgetFlow(f.Key)
	}
	seen := newDescribed()
	flows := a.table.Changed()
	snap.Flows = make([]observe.Flow, 0, len(flows))
	for i := range flows {
		snap.Flows = append(snap.Flows, a.observeFlow(&flows[i], seen))
	}
	a.media.mu.Lock()
	defer a.media.mu.Unlock()
	n := 0
	for _, sources := range a.media.rtp {
		n += len(sources)
	}
	snap.RTP = make([]observe.RTPStream, 0, n)
	for _, sources := range a.media.rtp {
		for k, s := range sources {
			snap.RTP = append(snap.RTP, observe.RTPOf(k, s, a.clock.Wall))
		}
	}
	for _, s := range a.media.samples {
		snap.Payloads = append(snap.Payloads, observe.PayloadOf(s, a.clock.Wall))
	}
	a.media.samples = nil
	return snap
}

// described is what one snapshot has looked up already, shared by its
// flows: an owner is described once, however many flows it has (its
// ancestry walk reads /proc; flows share the read-only result), and an
// interface named once (the attach manager answers under its lock).
type described struct {
	owners  map[flow.Owner]*observe.Owner
	ifnames map[ifaceID]string
}

// ifaceID names an interface across namespaces.
type ifaceID struct {
	netns   uint64
	ifindex uint32
}

func newDescribed() described {
	return described{owners: map[flow.Owner]*observe.Owner{}, ifnames: map[ifaceID]string{}}
}

// observeFlow turns a flow of the table into its observation, with what
// only the live agent knows: the socket cookie, the interface and the
// owner.
func (a *Agent) observeFlow(f *flow.Flow, seen described) observe.Flow {
	s := f.Stats()
	o := observe.FlowOf(f.Key, s, a.clock.Wall)
	o.Closed, o.Cookie = f.Closed, f.Cookie
	if s.Ifindex != 0 { // 0: no packet seen on an interface yet
		id := ifaceID{f.Key.Netns, s.Ifindex}
		name, ok := seen.ifnames[id]
		if !ok {
			name = a.tc.InterfaceName(id.netns, id.ifindex)
			seen.ifnames[id] = name
		}
		o.Interface = name
	}
	if f.Owner.Known() {
		if seen.owners[f.Owner] == nil {
			seen.owners[f.Owner] = a.owner(f.Owner)
		}
		o.Owner = seen.owners[f.Owner]
	}
	return o
}

func (m *media) forgetFlow(k bpf.FlowKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rtp, k)
}

// owner describes a flow's owner with its ancestry from the process cache.
// It is named by its process, not by the thread that opened the socket:
// the kernel's comm at the socket is the thread's (Chromium opens its
// media sockets on a thread named Chrome_ChildIOT), kept as Thread. The
// process's name and executable come from its exec event or /proc; the
// thread's comm stands in for the name only when the process is not known.
func (a *Agent) owner(o flow.Owner) *observe.Owner {
	out := &observe.Owner{Process: observe.Process{PID: o.TGID, Comm: o.Comm}, UID: o.UID, Source: o.Source}
	if o.Source != "backfill" {
		out.Thread = o.Comm
	}
	info, ok := a.procs.Lookup(ownerKey(o))
	if !ok {
		return out
	}
	out.Exe, out.Cmdline, out.PPID = info.Exe, info.Cmdline, info.PPID
	if info.Comm != "" {
		out.Comm = info.Comm
	}
	for child, n := info, 0; child.PPID > 1 && n < maxAncestors; n++ {
		parent, ok := a.procs.LookupParent(child.PPID, child.Key)
		if !ok {
			break
		}
		out.Ancestors = append(out.Ancestors, observe.Process{PID: parent.PID, Comm: parent.Comm, Exe: parent.Exe, Cmdline: parent.Cmdline})
		child = parent
	}
	return out
}

// SamplesDropped counts payload samples dropped in user space because too
// many were waiting.
func (a *Agent) SamplesDropped() uint64 {
	a.media.mu.Lock()
	defer a.media.mu.Unlock()
	return a.media.dropped
}

// putRTP records a source's counters; the caller holds m.mu.
func (m *media) putRTP(k bpf.RTPKey, s bpf.RTPStats) {
	if m.rtp == nil {
		m.rtp = map[bpf.FlowKey]map[bpf.RTPKey]bpf.RTPStats{}
	}
	fk := k.Flow
	sources := m.rtp[fk]
	if sources == nil {
		sources = map[bpf.RTPKey]bpf.RTPStats{}
		m.rtp[fk] = sources
	}
	sources[k] = s
}
