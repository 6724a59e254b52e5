package flow

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/teamsflow/teamsflow/bpf"
)

func key(local, peer string, proto uint8) bpf.FlowKey {
	l, p := netip.MustParseAddrPort(local), netip.MustParseAddrPort(peer)
	k := bpf.FlowKey{LocalPort: l.Port(), PeerPort: p.Port(), Protocol: proto, Family: 4, Netns: 7}
	a, b := l.Addr().As4(), p.Addr().As4()
	copy(k.LocalAddr[:], a[:])
	copy(k.PeerAddr[:], b[:])
	return k
}

func owner(tgid uint32, comm string) bpf.Owner {
	o := bpf.Owner{Tgid: tgid, Pid: tgid}
	for i, c := range comm {
		o.Comm[i] = int8(c)
	}
	return o
}

func stats(sent, recv uint64, cookie uint64, o bpf.Owner) bpf.FlowStats {
	s := bpf.FlowStats{Cookie: cookie, Owner: o}
	s.Dir[0] = bpf.FlowDir{Bytes: sent, Packets: 1, FirstNs: 10, Last: 20}
	s.Dir[1] = bpf.FlowDir{Bytes: recv, Packets: 1, FirstNs: 11, Last: 21}
	return s
}

func only(t *testing.T, tb *Table) Flow {
	t.Helper()
	fs := tb.Snapshot()
	if len(fs) != 1 {
		t.Fatalf("%d flows, want 1", len(fs))
	}
	return fs[0]
}

func TestOwnerFromFlowWins(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.1:5000", "10.0.0.2:3478", 17)
	tb.Backfill(42, Owner{TGID: 9, Comm: "old"})
	tb.Update(k, stats(100, 50, 42, owner(5, "ms-teams")))
	if f := only(t, tb); f.Owner.TGID != 5 || f.Owner.Comm != "ms-teams" || f.Owner.Source != "socket" {
		t.Errorf("owner %+v, want pid 5 ms-teams from socket", f.Owner)
	}
}

func TestOwnerByCookieThenByListenerAddress(t *testing.T) {
	tb := NewTable()
	listener := key("10.0.0.2:443", "0.0.0.0:0", 6)
	l, p := Addrs(listener)
	tb.SocketTuple(7, 6, l, p, 100)
	tb.Backfill(100, Owner{TGID: 33, Comm: "server"})

	// The accepted socket (cookie 200) is known by its tuple, with no owner.
	k := key("10.0.0.2:443", "10.0.0.9:40000", 6)
	al, ap := Addrs(k)
	tb.SocketTuple(7, 6, al, ap, 200)
	tb.Update(k, stats(1, 1, 200, bpf.Owner{}))
	tb.SocketClosed(200, time.Now())
	f := only(t, tb)
	if f.Owner.TGID != 33 || f.Owner.Source != "backfill" || !f.Closed || f.Cookie != 200 {
		t.Errorf("flow %+v: want the listener's owner 33 by backfill, closed, cookie 200", f)
	}
}

func TestCountsSurviveKernelEviction(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.1:5000", "10.0.0.2:3478", 17)
	tb.Update(k, stats(100, 50, 1, owner(5, "a")))
	tb.Removed(k)
	tb.Update(k, stats(7, 3, 1, owner(5, "a")))
	f := only(t, tb)
	s := f.Stats()
	if s.Dir[0].Bytes != 107 || s.Dir[1].Bytes != 53 || s.Dir[0].Packets != 2 {
		t.Errorf("totals %+v, want 107/53 bytes, 2 packets sent", s.Dir)
	}
	if got := tb.Expire(1<<62, time.Now(), time.Unix(0, 0)); len(got) != 0 {
		t.Errorf("expired a flow that is still in the kernel map")
	}
	tb.Removed(k)
	if got := tb.Expire(1<<62, time.Now(), time.Unix(0, 0)); len(got) != 1 || tb.Len() != 0 {
		t.Errorf("expire returned %d flows, table has %d", len(got), tb.Len())
	}
}

// Short flows leave the kernel map once a read after their socket's close
// holds them; a flow still open, or closed during the read, stays.
func TestClosedFlowsLeaveTheKernelMapAfterTheReadThatFollowsTheClose(t *testing.T) {
	tb := NewTable()
	done := key("10.0.0.1:5000", "10.0.0.2:53", 17)
	open := key("10.0.0.1:5001", "10.0.0.2:53", 17)
	late := key("10.0.0.1:5002", "10.0.0.2:53", 17)
	byTuple := key("10.0.0.1:5003", "10.0.0.2:53", 17)
	l, p := Addrs(byTuple)
	tb.SocketTuple(7, 17, l, p, 4)
	for i, k := range []bpf.FlowKey{done, open, late, byTuple} {
		cookie := uint64(i + 1)
		if k == byTuple {
			cookie = 0 // the kernel entry has no cookie: found by address
		}
		tb.Update(k, stats(1, 0, cookie, owner(5, "app")))
	}
	tb.SocketClosed(1, time.Now())
	tb.SocketClosed(4, time.Now())
	gen := tb.CloseGen()
	tb.SocketClosed(3, time.Now()) // during the read
	got := tb.ClosedBy([]bpf.FlowKey{done, open, late, byTuple}, gen)
	if len(got) != 2 || got[0] != done || got[1] != byTuple {
		t.Errorf("closed by the read: %v, want the first and the last flow", got)
	}
	if got := tb.ClosedBy([]bpf.FlowKey{late}, tb.CloseGen()); len(got) != 1 {
		t.Errorf("a flow closed before the next read is not released: %v", got)
	}
}

// Changed hands out a flow when it is new and again only when its
// counts, owner or closed state moved: a closed flow once more when its
// close is seen, not again once its kernel entry goes, again after a late
// packet.
func TestChangedHandsOutOnlyChangedFlows(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.1:5000", "10.0.0.2:53", 17)
	running := key("10.0.0.1:5001", "10.0.0.2:53", 17)
	tb.Update(k, stats(1, 0, 1, owner(5, "app")))
	tb.Update(running, stats(1, 0, 2, owner(5, "app")))
	if got := tb.Changed(); len(got) != 2 {
		t.Fatalf("new flows: %d flows, want 2", len(got))
	}
	tb.Update(running, stats(1, 0, 2, owner(5, "app"))) // the same counts read again
	if got := tb.Changed(); len(got) != 0 {
		t.Fatalf("nothing moved: %v, want no flow", got)
	}
	tb.SocketClosed(1, time.Now())
	if got := tb.Changed(); len(got) != 1 || got[0].Key != k || !got[0].Closed {
		t.Fatalf("closed flow: %v, want it alone, closed", got)
	}
	tb.Removed(k)
	more := stats(2, 0, 2, owner(5, "app"))
	more.Dir[0].Packets = 2
	tb.Update(running, more)
	if got := tb.Changed(); len(got) != 1 || got[0].Key != running || got[0].Stats().Dir[0].Packets != 2 {
		t.Fatalf("after the kernel entry of the closed flow went: %v, want only the running flow with 2 packets", got)
	}
	if len(tb.Snapshot()) != 2 {
		t.Errorf("Snapshot left a flow out")
	}
	tb.Update(k, stats(3, 0, 1, owner(5, "app"))) // a late packet, in a new kernel entry
	if got := tb.Changed(); len(got) != 1 || got[0].Key != k || got[0].Stats().Dir[0].Packets != 2 {
		t.Errorf("a late packet: %v, want the closed flow again", got)
	}
	tb.Removed(k)
	if got := tb.Expire(1<<62, time.Now(), time.Unix(0, 0)); len(got) != 1 || tb.Len() != 1 {
		t.Errorf("expired %d, %d left, want 1, 1", len(got), tb.Len())
	}
}

// A flow whose owner is learned after it was handed out is handed out
// again with it.
func TestChangedHandsOutALateOwner(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.1:5000", "10.0.0.2:53", 17)
	tb.Update(k, stats(1, 0, 7, bpf.Owner{}))
	if got := tb.Changed(); len(got) != 1 || got[0].Owner.Known() {
		t.Fatalf("new flow without owner: %v", got)
	}
	tb.SocketOwner(7, owner(9, "late"))
	if got := tb.Changed(); len(got) != 1 || got[0].Owner.TGID != 9 {
		t.Fatalf("owner learned: %v, want the flow with owner 9", got)
	}
	if got := tb.Changed(); len(got) != 0 {
		t.Errorf("nothing moved since: %v", got)
	}
}

// The sockets and flows of one process share one copy of its name, and a
// closed socket's time still decides when it is forgotten.
func TestOwnersShareTheirNameAndClosedSocketsExpire(t *testing.T) {
	tb := NewTable()
	tb.SocketOwner(1, owner(5, "ms-teams"))
	tb.SocketOwner(2, owner(5, "ms-teams"))
	tb.Update(key("10.0.0.1:5000", "10.0.0.2:3478", 17), stats(1, 1, 3, owner(5, "ms-teams")))
	f := only(t, tb)
	a, b := tb.sockets[1].owner.Comm, tb.sockets[2].owner.Comm
	if a != "ms-teams" || unsafe.StringData(a) != unsafe.StringData(b) || unsafe.StringData(a) != unsafe.StringData(f.Owner.Comm) {
		t.Errorf("names %q %q %q are not one shared copy", a, b, f.Owner.Comm)
	}
	// The owner itself is kept once, too: the table keeps an entry per
	// flow and per socket, 10k and more, within the daemon's memory budget.
	if o := tb.flows[f.Key].owner; o == nil || o != tb.sockets[1].owner || o != tb.sockets[2].owner {
		t.Errorf("the flow's and sockets' owners %p %p %p are not one shared copy", o, tb.sockets[1].owner, tb.sockets[2].owner)
	}
	if e, s := unsafe.Sizeof(entry{}), unsafe.Sizeof(Socket{}); e > 128 || s > 32 {
		t.Errorf("a flow's entry takes %d bytes and a socket's %d, want at most 128 and 32", e, s)
	}
	closed := time.Unix(1000, 0)
	tb.SocketClosed(1, closed)
	tb.Expire(0, closed, time.Unix(0, 0))
	if tb.sockets[1] == nil {
		t.Error("a socket closed at the cutoff was forgotten")
	}
	tb.Expire(0, closed.Add(time.Nanosecond), time.Unix(0, 0))
	if tb.sockets[1] != nil || tb.sockets[2] == nil {
		t.Error("only the socket closed before the cutoff is forgotten")
	}
}

// An open socket whose close event was lost is forgotten once nothing
// told of it since the cutoff and no flow uses it; one a flow uses (by
// cookie or by address), one an event told of again, and one only the
// backfill knows (its owner is nowhere else) are kept.
func TestSilentOpenSocketsNoFlowUsesAreForgotten(t *testing.T) {
	tb := NewTable()
	clock := time.Unix(1000, 0)
	tb.now = func() time.Time { return clock }
	never := time.Unix(0, 0)
	tb.Expire(0, never, never) // sockets heard of from here on are stamped 1000 s
	tb.SocketOwner(1, owner(5, "lost-close"))
	tb.SocketOwner(2, owner(5, "by-cookie"))
	tb.Update(key("10.0.0.1:5000", "10.0.0.2:3478", 17), stats(1, 1, 2, bpf.Owner{}))
	tb.SocketTuple(7, 6, netip.MustParseAddrPort("10.0.0.1:6000"), netip.MustParseAddrPort("10.0.0.2:443"), 3)
	tb.Update(key("10.0.0.1:6000", "10.0.0.2:443", 6), stats(1, 1, 0, bpf.Owner{}))
	tb.Backfill(4, Owner{TGID: 6, Comm: "old"})
	tb.SocketOwner(5, owner(5, "heard-again"))

	clock = clock.Add(time.Hour)
	tb.Expire(0, never, never)
	tb.SocketOwner(5, owner(5, "heard-again"))
	tb.Expire(0, never, time.Unix(1000, 1))
	for cookie, want := range map[uint64]bool{1: false, 2: true, 3: true, 4: true, 5: true} {
		if _, kept := tb.sockets[cookie]; kept != want {
			t.Errorf("socket %d kept: %v, want %v", cookie, kept, want)
		}
	}
	if _, ok := tb.tuples[tuple{7, 6, netip.MustParseAddrPort("10.0.0.1:6000"), netip.MustParseAddrPort("10.0.0.2:443")}]; !ok {
		t.Error("the address of a socket in use was forgotten")
	}
}
