package agent

import (
	"sort"
	"strings"

	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/agent/record"
)

// Records returns every flow seen so far as a stream record, after a
// fresh read of the kernel's counters. Busiest flows first.
func (a *Agent) Records() []record.Record {
	if err := a.Poll(); err != nil {
		a.log.Warn().Err(err).Msg("reading flows")
	}
	flows := a.table.Snapshot()
	out := make([]record.Record, 0, len(flows))
	for i := range flows {
		out = append(out, a.record(&flows[i]))
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].BytesSent+out[i].BytesRecv > out[j].BytesSent+out[j].BytesRecv
	})
	return out
}

func (a *Agent) record(f *flow.Flow) record.Record {
	local, peer := flow.Addrs(f.Key)
	s := f.Stats()
	r := record.Record{
		Kind: "stream", Transport: transport(f.Key.Protocol), Family: "ipv4",
		LocalAddr: local.Addr().String(), LocalPort: local.Port(),
		PeerAddr: peer.Addr().String(), PeerPort: peer.Port(),
		BytesSent: s.Dir[0].Bytes, BytesRecv: s.Dir[1].Bytes,
		PacketsSent: s.Dir[0].Packets, PacketsRecv: s.Dir[1].Packets,
		DSCPSent: s.Dir[0].Dscp, DSCPRecv: s.Dir[1].Dscp,
		FirstSeen: a.clock.Wall(nonZeroMin(s.Dir[0].FirstNs, s.Dir[1].FirstNs)),
		LastSeen:  a.clock.Wall(max(s.Dir[0].Last, s.Dir[1].Last)),
		TCPFlags:  tcpFlags(s.Dir[0].TcpFlags | s.Dir[1].TcpFlags),
		Netns:     f.Key.Netns, SocketCookie: f.Cookie, Closed: f.Closed,
		Interface: a.tc.InterfaceName(f.Key.Netns, s.Ifindex),
	}
	if f.Key.Family == 6 {
		r.Family = "ipv6"
	}
	if f.Owner.Known() {
		a.fillOwner(&r, f.Owner)
	}
	return r
}

// fillOwner names the process that owns a socket by the process, not by
// the thread that opened it: the kernel's comm at the socket is the
// thread's (Chromium opens its media sockets on a thread named
// Chrome_ChildIOT), kept as Thread. The process's name and executable come
// from its exec event or /proc; the thread's comm stands in for the name
// only when the process is not known at all.
func (a *Agent) fillOwner(r *record.Record, o flow.Owner) {
	uid := o.UID
	r.PID, r.Comm, r.UID, r.OwnerSource = o.TGID, o.Comm, &uid, o.Source
	if o.Source != "backfill" {
		r.Thread = o.Comm
	}
	if info, ok := a.procs.Lookup(ownerKey(o)); ok {
		r.Exe, r.PPID = info.Exe, info.PPID
		if info.Comm != "" {
			r.Comm = info.Comm
		}
	}
}

func ownerFromProc(info proc.Info) flow.Owner {
	// StartNs is rebuilt from ticks so that later lookups hit the same key.
	return flow.Owner{TGID: info.PID, PID: info.PID, UID: info.UID, Comm: info.Comm,
		StartNs: info.StartTicks * 10_000_000, Source: "backfill"}
}

// ownerKey is the process cache key of a socket owner. The kernel gives
// the exact start time; a backfilled owner only the tick /proc knows.
func ownerKey(o flow.Owner) proc.Key {
	if o.Source == "backfill" {
		return proc.Key{PID: o.TGID, StartTicks: proc.TicksFromBootNs(o.StartNs)}
	}
	return proc.KeyFromBootNs(o.TGID, o.StartNs)
}

func transport(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return "other"
}

func nonZeroMin(a, b uint64) uint64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// tcpFlags spells the flags seen, e.g. "SYN,ACK,FIN".
func tcpFlags(f uint8) string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}
