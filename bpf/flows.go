package bpf

import "net/netip"

// MergeCPUs folds the per-CPU slots of one flow into one value: counters
// add up, first/last seen take the earliest/latest, the DSCP is the one of
// the most recent packet. The socket (cookie and owner, together) comes
// from the CPU that saw the flow last among those that found one: when a
// new socket took the address pair, a CPU idle since may still name the
// old one.
func MergeCPUs(perCPU []FlowStats) FlowStats {
	var out FlowStats
	var socketSeen uint64
	for i := range perCPU {
		s := &perCPU[i]
		for d := range out.Dir {
			mergeDir(&out.Dir[d], &s.Dir[d])
		}
		if last := max(s.Dir[0].Last, s.Dir[1].Last); s.Cookie != 0 && (out.Cookie == 0 || last > socketSeen) {
			out.Cookie, out.Owner, socketSeen = s.Cookie, s.Owner, last
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

// Sample is a payload event in Go form: a DNS answer received, a TLS
// ClientHello segment sent, or a STUN Binding message either way (struct
// tf_payload_event).
type Sample struct {
	Kind   uint8 // SampleDNS, SampleClientHello or SampleSTUN
	Egress bool  // sent by the local end
	Flow   FlowKey
	TCPSeq uint32
	TsNs   uint64 // CLOCK_BOOTTIME (capture time in capture files)
	Data   []byte
}

// CString reads a NUL-terminated kernel char array (comm, filename).
func CString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// AddrPort reads an address as the kernel structs store it (network order,
// IPv4 in the first 4 bytes) with a port in host order.
func AddrPort(ipv4 bool, addr [16]uint8, port uint16) netip.AddrPort {
	if ipv4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(addr[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(addr).Unmap(), port)
}
