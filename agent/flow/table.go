// Package flow keeps the flow table: the kernel's per-flow counters joined
// with the owner of each flow's socket. Owners come, best first, from the
// flow itself (the TC program copied them from socket storage), from
// socket events keyed by cookie, and from the backfill of sockets that
// existed before the agent started, keyed by cookie or by address.
package flow

import (
	"net/netip"
	"sync"
	"time"

	"github.com/teamsflow/teamsflow/agent/intern"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Owner is the process that owns a socket.
type Owner struct {
	TGID, PID, UID uint32
	StartNs        uint64 // thread-group start, ns since boot; 0 if unknown
	Comm           string
	Source         string // "socket" (kernel) or "backfill" (/proc)
}

// Known says whether an owner was found.
func (o Owner) Known() bool { return o.TGID != 0 }

// Flow is one flow with its totals so far, as the table hands it out.
type Flow struct {
	Key    bpf.FlowKey
	Owner  Owner
	Cookie uint64
	Closed bool // its socket was closed
	// current and folded are the entry's counts (Stats).
	current counts
	folded  *counts
}

// entry is a flow as the table keeps it: its key is the map's, and its
// owner the shared copy of owners (Flow's Owner by value is 56 bytes, an
// entry 128 instead of 224; the table keeps one per flow, 10k and more).
type entry struct {
	owner  *Owner // nil until known
	cookie uint64
	// current holds the live kernel entry's counts; folded those of
	// kernel entries already deleted, nil until one was (most flows keep
	// one entry for life: 10k flows would carry ~1 MB of zeros).
	current counts
	folded  *counts
	// deadTGID is the owner Reown replaced: the kernel entry, which still
	// names it, does not take the flow back.
	deadTGID uint32
	closed   bool // its socket was closed
	inKernel bool
	// changed: counts, owner or closed state moved since Changed last
	// returned the flow.
	changed bool
}

// flow is the entry as handed out.
func (e *entry) flow(k bpf.FlowKey) Flow {
	return Flow{Key: k, Owner: e.owner.value(), Cookie: e.cookie, Closed: e.closed, current: e.current, folded: e.folded}
}

// value is the owner, the zero Owner for nil.
func (o *Owner) value() Owner {
	if o == nil {
		return Owner{}
	}
	return *o
}

// known says whether o names an owner.
func (o *Owner) known() bool { return o != nil && o.Known() }

// source is o's Source, "" for nil.
func (o *Owner) source() string {
	if o == nil {
		return ""
	}
	return o.Source
}

// counts is what a flow's totals need of a kernel entry: the entry's
// owner and cookie go into the Flow itself.
type counts struct {
	Dir      [2]bpf.FlowDir
	Protos   uint16
	StunType uint16
	Ifindex  uint32
}

func countsOf(s *bpf.FlowStats) counts {
	return counts{Dir: s.Dir, Protos: s.Protos, StunType: s.StunType, Ifindex: s.Ifindex}
}

func (c *counts) stats() bpf.FlowStats {
	return bpf.FlowStats{Dir: c.Dir, Protos: c.Protos, StunType: c.StunType, Ifindex: c.Ifindex}
}

// Stats is the flow's total traffic.
func (f *Flow) Stats() bpf.FlowStats { return total(&f.current, f.folded) }

func (e *entry) stats() bpf.FlowStats { return total(&e.current, e.folded) }

func total(current, folded *counts) bpf.FlowStats {
	if folded == nil {
		return bpf.MergeCPUs([]bpf.FlowStats{current.stats()})
	}
	return bpf.MergeCPUs([]bpf.FlowStats{folded.stats(), current.stats()})
}

// Socket is what events and backfill told about one socket.
type Socket struct {
	owner  *Owner // the shared copy (owners); nil until known
	Closed bool
	// replaced is the exited owner a rescan replaced (Reown): its flows'
	// kernel entries still name it, and take Owner instead.
	replaced uint32
	// at is when it was closed, or else when an event or the backfill
	// last told of it: Unix ns (a time.Time is 24 bytes, and the table
	// keeps a socket per flow).
	at int64
	// closedGen orders closes against reads of the kernel map (CloseGen).
	closedGen uint64
}

// tuple finds a socket by address when its cookie is not in the flow.
type tuple struct {
	netns       uint64
	proto       uint8
	local, peer netip.AddrPort
}

// Table is the flow table. It is safe for concurrent use.
type Table struct {
	mu      sync.Mutex
	flows   map[bpf.FlowKey]*entry
	sockets map[uint64]*Socket
	tuples  map[tuple]uint64
	// closes counts the sockets closed so far.
	closes uint64
	// comms holds one copy of each process name: every socket and flow
	// carries its owner's, and events name it anew each time.
	comms intern.Pool[[16]int8, string]
	// owners holds one copy of each owner: the flows and sockets of one
	// process point at it.
	owners intern.Pool[Owner, *Owner]
	// stamp is when Expire last ran, Unix ns: what sockets heard of since
	// are stamped with, so that an event costs no clock read (the stamp
	// only has to be good to an hour, see Expire).
	stamp int64
	now   func() time.Time
}

// maxComms and maxOwners bound comms and owners; when full they start
// afresh (names and owners handed out stay valid).
const (
	maxComms  = 1024
	maxOwners = 4096
)

// NewTable makes an empty table.
func NewTable() *Table {
	return &Table{flows: map[bpf.FlowKey]*entry{}, sockets: map[uint64]*Socket{}, tuples: map[tuple]uint64{},
		stamp: time.Now().UnixNano(), now: time.Now}
}

// Update records the kernel's current counters of a flow.
func (t *Table) Update(k bpf.FlowKey, s bpf.FlowStats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.flows[k]
	if f == nil {
		f = &entry{changed: true}
		t.flows[k] = f
	}
	// Bytes, times and protocols only move with packets.
	if s.Dir[0].Packets != f.current.Dir[0].Packets || s.Dir[1].Packets != f.current.Dir[1].Packets {
		f.changed = true
	}
	f.current, f.inKernel = countsOf(&s), true
	if s.Cookie != 0 {
		f.cookie = s.Cookie
	}
	// The kernel entry names the process whose socket sends now. It differs
	// from the flow's owner when the entry was made anew for another
	// socket on the same addresses (a fixed port used again by another
	// process after the first one's entry left the map): the new sender
	// owns the flow from then on.
	if s.Owner.Tgid != 0 && s.Owner.Tgid != f.deadTGID && (f.owner.source() != "socket" || !sameProcess(f.owner, s.Owner)) {
		if sk := t.sockets[f.cookie]; sk != nil && sk.replaced != 0 && sk.replaced == s.Owner.Tgid {
			f.owner, f.deadTGID, f.changed = sk.owner, sk.replaced, true
		} else {
			f.owner, f.changed = t.ownerFrom(s.Owner, "socket"), true
		}
	}
}

// sameProcess says whether o is the process k names (pid and start time).
func sameProcess(o *Owner, k bpf.Owner) bool {
	return o != nil && o.TGID == k.Tgid && o.StartNs == k.StartNs
}

// Removed records that the kernel entry of a flow was deleted after its
// last Update: its counts stay in the table, a new entry adds to them.
func (t *Table) Removed(k bpf.FlowKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.flows[k]; f != nil && f.inKernel {
		total := f.stats()
		f.folded = new(countsOf(&total))
		f.current, f.inKernel = counts{}, false
	}
}

// SocketOwner records a socket's owner from a kernel event.
func (t *Table) SocketOwner(cookie uint64, o bpf.Owner) {
	if cookie == 0 || o.Tgid == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.socket(cookie); o.Tgid != s.replaced { // storage still names an owner a rescan replaced
		s.owner = t.ownerFrom(o, "socket")
	}
}

// SocketTuple records the addresses of a socket (TCP established, backfill).
func (t *Table) SocketTuple(netns uint64, proto uint8, local, peer netip.AddrPort, cookie uint64) {
	if cookie == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tuples[tuple{netns, proto, local, peer}] = cookie
	t.socket(cookie)
}

// SocketClosed records that a socket was closed at when.
func (t *Table) SocketClosed(cookie uint64, when time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.socket(cookie)
	t.closes++
	s.Closed, s.at, s.closedGen = true, when.UnixNano(), t.closes
}

// CloseGen marks the sockets closed so far. Taken before a read of the
// kernel map, it tells ClosedBy which flows that read saw complete.
func (t *Table) CloseGen() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closes
}

// ClosedBy returns the flows among keys whose socket was closed by gen:
// their sockets sent their last packet before the read that followed, so
// that read holds all they sent. Their kernel entries may go at once
// instead of after the idle timeout, which keeps the kernel map for the
// flows still running when short flows come by the thousand; a late
// packet (a peer's reply, TCP's last segments) makes a new entry, whose
// counts add to the flow's.
func (t *Table) ClosedBy(keys []bpf.FlowKey, gen uint64) []bpf.FlowKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []bpf.FlowKey
	for _, k := range keys {
		f := t.flows[k]
		if f == nil {
			continue
		}
		cookie := f.cookie
		if cookie == 0 {
			cookie = t.cookieByTuple(k, false)
		}
		if s := t.sockets[cookie]; s != nil && s.Closed && s.closedGen <= gen {
			out = append(out, k)
		}
	}
	return out
}

// Backfill records the owner of a socket that existed before the agent.
// Owners learned from the kernel are not overwritten.
func (t *Table) Backfill(cookie uint64, o Owner) {
	if cookie == 0 || !o.Known() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.socket(cookie); !s.owner.known() {
		o.Source = "backfill"
		s.owner = t.shared(o)
	}
}

// socket returns the entry of a socket, made if new, and notes that it
// was heard of (a closed socket keeps its time of closing).
func (t *Table) socket(cookie uint64) *Socket {
	s := t.sockets[cookie]
	if s == nil {
		s = &Socket{}
		t.sockets[cookie] = s
	}
	if !s.Closed {
		s.at = t.stamp
	}
	return s
}

// ownerFrom turns a kernel owner into the table's; the caller holds t.mu.
func (t *Table) ownerFrom(o bpf.Owner, source string) *Owner {
	return t.shared(Owner{TGID: o.Tgid, PID: o.Pid, UID: o.Uid, StartNs: o.StartNs, Comm: t.comm(o.Comm), Source: source})
}

// shared returns the shared copy of an owner; the caller holds t.mu.
func (t *Table) shared(o Owner) *Owner { return t.owners.Get(o, maxOwners, intern.Pointer[Owner]) }

// comm returns the shared copy of a process name; the caller holds t.mu.
func (t *Table) comm(raw [16]int8) string {
	return t.comms.Get(raw, maxComms, func(raw [16]int8) string { return contract.CString(raw[:]) })
}
