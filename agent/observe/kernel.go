package observe

import (
	"time"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// The kernel's structs (and the Go twin's, which uses the same types) in
// observation form. wall turns a boot-clock (or capture) timestamp in ns
// into wall time.

// FlowIDOf names the flow of a kernel flow key.
func FlowIDOf(k contract.FlowKey) FlowID {
	v4 := k.Family == 4
	return FlowID{Netns: k.Netns, Transport: k.Protocol,
		Local: contract.AddrPort(v4, k.LocalAddr, k.LocalPort), Peer: contract.AddrPort(v4, k.PeerAddr, k.PeerPort)}
}

// FlowOf converts a flow's merged counters; Last must already be in ns.
func FlowOf(k contract.FlowKey, s contract.FlowStats, wall func(uint64) time.Time) Flow {
	return Flow{ID: FlowIDOf(k), Sent: counters(s.Dir[0], wall), Recv: counters(s.Dir[1], wall), Protos: Protocols(s.Protos),
		TCPFlags: s.Dir[0].TcpFlags | s.Dir[1].TcpFlags}
}

func counters(d contract.FlowDir, wall func(uint64) time.Time) Counters {
	c := Counters{Packets: d.Packets, Bytes: d.Bytes, DSCP: d.Dscp}
	if d.Packets > 0 {
		c.First, c.Last = wall(d.FirstNs), wall(d.Last)
	}
	return c
}

// RTPOf converts one RTP source's counters. A source of comfort noise only
// never voted: its payload type is the last one (13).
//
// Loss is RFC 3550 A.1's, as the kernel keeps it (bpf/tf_hints.h): the
// packets expected since the source became valid (nothing while it is on
// probation; the count goes on across a resync) less the packets counted,
// which leave out duplicates. Late packets from before the base can still
// outnumber the lost; loss then reads 0, never less.
func RTPOf(k contract.RTPKey, s contract.RTPStats, wall func(uint64) time.Time) RTPStream {
	var expected uint64
	if s.Probation == 0 {
		expected = uint64(s.MaxSeq-s.BaseSeq) + 1
	}
	lost := max(int64(expected)-int64(s.Received), 0)
	main := s.MainPt
	if s.MainVotes == 0 {
		main = s.PayloadType
	}
	return RTPStream{
		Flow: FlowIDOf(k.Flow), Sent: k.Egress != 0, SSRC: k.Ssrc,
		PayloadType: main, LastPayloadType: s.PayloadType, Relayed: s.Relayed != 0,
		Packets: s.Packets, PayloadBytes: s.PayloadBytes, PayloadSquares: s.PayloadSquares, Markers: s.Markers,
		Frames: uint64(s.Frames), TSAdvance: s.TsAdvance, PadOnly: uint64(s.PadOnly), PadBytes: s.PadBytes,
		SeqSteps: uint64(s.SeqSteps), MaxTS: s.MaxTs,
		First: wall(s.FirstNs), Last: wall(s.LastNs),
		Expected: expected, Lost: lost, Duplicates: uint64(s.Duplicates),
		Jitter: time.Duration(s.Jitter16 >> 4),
	}
}

// PayloadOf converts a DNS, ClientHello or STUN sample.
func PayloadOf(s contract.Sample, wall func(uint64) time.Time) Payload {
	return Payload{Time: wall(s.TsNs), Flow: FlowIDOf(s.Flow), Kind: PayloadKind(s.Kind), TCPSeq: s.TCPSeq,
		Sent: s.Egress, Data: s.Data}
}
