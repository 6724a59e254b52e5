package bpf

// MergeCPUs folds the per-CPU slots of one flow into one value: counters
// add up, first/last seen take the earliest/latest, the DSCP is the one of
// the most recent packet. The socket (cookie and owner, together) comes
// from the CPU that saw the flow last among those that found one: when a
// new socket took the address pair, a CPU idle since may still name the
// old one. A CPU whose owner is only the socket's creator, its sender not
// yet read (owner_pending: a datagram held for neighbour resolution left
// from softirq there), yields to one that read the sender.
func MergeCPUs(perCPU []FlowStats) FlowStats {
	var out FlowStats
	var socketSeen uint64
	outPending := false
	for i := range perCPU {
		s := &perCPU[i]
		for d := range out.Dir {
			mergeDir(&out.Dir[d], &s.Dir[d])
		}
		last, pending := max(s.Dir[0].Last, s.Dir[1].Last), s.Dir[0].OwnerPending != 0
		if s.Cookie != 0 && (out.Cookie == 0 || (outPending && !pending) || (pending == outPending && last > socketSeen)) {
			out.Cookie, out.Owner, socketSeen, outPending = s.Cookie, s.Owner, last, pending
		} else if out.Cookie == 0 && out.Owner.Tgid == 0 && s.Owner.Tgid != 0 {
			out.Owner = s.Owner
		}
		if out.Ifindex == 0 {
			out.Ifindex = s.Ifindex
		}
		out.Protos |= s.Protos
		if s.StunType != 0 {
			out.StunType = s.StunType
		}
	}
	return out
}

func mergeDir(out, in *FlowDir) {
	if in.Packets == 0 {
		return
	}
	out.Bytes += in.Bytes
	out.Packets += in.Packets
	if out.FirstNs == 0 || in.FirstNs < out.FirstNs {
		out.FirstNs = in.FirstNs
	}
	if in.Last >= out.Last {
		out.Last = in.Last
		out.Dscp = in.Dscp
	}
	out.TcpFlags |= in.TcpFlags
}
