package flow

import (
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Snapshot returns a copy of every flow with its owner and closed state
// resolved from what the table knows now.
func (t *Table) Snapshot() []Flow {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Flow, 0, len(t.flows))
	for k, f := range t.flows {
		t.resolve(k, f)
		out = append(out, f.flow(k))
	}
	return out
}

// Changed returns what Snapshot does, less the flows whose counts, owner
// and closed state are the same as when Changed last returned them. A
// reader of every flow on every poll kept a copy of each running flow
// alive per read (at 10k flows, megabytes per second of garbage); one
// that only takes changes must treat a flow it is not given as silent.
// Closed flows stay in the table for the idle timeout and are not handed
// out again unless a late packet comes.
func (t *Table) Changed() []Flow {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Flow
	for k, f := range t.flows {
		t.resolve(k, f)
		if !f.changed {
			continue
		}
		f.changed = false
		out = append(out, f.flow(k))
	}
	return out
}

// resolve fills a flow's owner and cookie from sockets when the kernel
// entry did not carry them, and marks the flow changed when its owner or
// closed state moved.
func (t *Table) resolve(k bpf.FlowKey, f *entry) {
	if f.cookie == 0 {
		f.cookie = t.cookieByTuple(k, false)
	}
	s := t.sockets[f.cookie]
	if s != nil && f.closed != s.Closed {
		f.closed, f.changed = s.Closed, true
	}
	if s == nil || !s.owner.known() {
		// An accepted socket of a listener older than the agent has no
		// owner of its own: the listener's, found by address, is it.
		s = t.sockets[t.cookieByTuple(k, true)]
	}
	if s == nil || !s.owner.known() {
		return
	}
	if s.owner.TGID == f.deadTGID { // storage still names the owner a rescan replaced
		return
	}
	if (!f.owner.known() || (f.owner.Source != "socket" && s.owner.Source == "socket")) && f.owner.value() != *s.owner {
		f.owner, f.changed = s.owner, true
	}
}

// cookieByTuple looks a flow's socket up by address: exact (connected
// sockets), then unconnected (peer unset), then bound to the wildcard
// address. withOwner skips sockets whose owner is not known.
func (t *Table) cookieByTuple(k bpf.FlowKey, withOwner bool) uint64 {
	local, peer := Addrs(k)
	any := netip.IPv4Unspecified()
	if k.Family == 6 {
		any = netip.IPv6Unspecified()
	}
	noPeer := netip.AddrPortFrom(any, 0)
	for _, c := range []tuple{
		{k.Netns, k.Protocol, local, peer},
		{k.Netns, k.Protocol, local, noPeer},
		{k.Netns, k.Protocol, netip.AddrPortFrom(any, local.Port()), noPeer},
	} {
		cookie := t.tuples[c]
		if cookie == 0 {
			continue
		}
		if s := t.sockets[cookie]; !withOwner || (s != nil && s.owner.known()) {
			return cookie
		}
	}
	return 0
}

// Addrs returns a flow key's local and peer address and port.
func Addrs(k bpf.FlowKey) (local, peer netip.AddrPort) {
	return contract.AddrPort(k.Family == 4, k.LocalAddr, k.LocalPort), contract.AddrPort(k.Family == 4, k.PeerAddr, k.PeerPort)
}

// Expire removes flows that are out of the kernel map and were last seen
// before cutoff (boot-clock ns), sockets closed before closedCutoff, and
// open sockets that no flow uses and nothing told of since openCutoff,
// and returns the flows removed.
//
// Open sockets are forgotten because a close event can be lost (a full
// ring buffer, counted): kept for ever, their entries would pile up. A
// socket the kernel programs saw open carries its owner in socket
// storage, and its flows take it from there, so forgetting its entry
// loses nothing; a socket found by the backfill has its owner only here
// and is kept until it is seen closed. Sockets heard of after Expire are
// stamped with the time it ran.
func (t *Table) Expire(cutoffNs uint64, closedCutoff, openCutoff time.Time) []Flow {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Flow
	for k, f := range t.flows {
		s := f.stats()
		last := max(s.Dir[0].Last, s.Dir[1].Last)
		if !f.inKernel && last < cutoffNs {
			t.resolve(k, f)
			out = append(out, f.flow(k))
			delete(t.flows, k)
		}
	}
	var silent []uint64
	for cookie, s := range t.sockets {
		switch {
		case s.Closed && s.at < closedCutoff.UnixNano():
			delete(t.sockets, cookie)
		case !s.Closed && s.owner.source() != "backfill" && s.at < openCutoff.UnixNano():
			silent = append(silent, cookie)
		}
	}
	if len(silent) > 0 { // rare: the flows are only looked through then
		used := t.socketsInUse()
		for _, cookie := range silent {
			if !used[cookie] {
				delete(t.sockets, cookie)
			}
		}
	}
	for tp, cookie := range t.tuples {
		if _, ok := t.sockets[cookie]; !ok {
			delete(t.tuples, tp)
		}
	}
	t.stamp = t.now().UnixNano()
	return out
}

// socketsInUse are the sockets the flows in the table take their cookie,
// closed state or owner from; the caller holds t.mu.
func (t *Table) socketsInUse() map[uint64]bool {
	used := make(map[uint64]bool, len(t.flows))
	for k, f := range t.flows {
		used[f.cookie] = true
		used[t.cookieByTuple(k, false)] = true
		used[t.cookieByTuple(k, true)] = true
	}
	return used
}

// Len is the number of flows in the table.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.flows)
}
