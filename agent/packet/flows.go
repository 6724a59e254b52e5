package packet

import (
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Flows accumulates packets into flow records exactly as the TC
// classifier does (bpf/tc.c), with the kernel's own types.
type Flows struct {
	Stats    map[contract.FlowKey]*contract.FlowStats
	RTP      map[contract.RTPKey]*contract.RTPStats
	Samples  []contract.Sample // DNS answers and ClientHellos, oldest first
	Counters [contract.NumCounters]uint64

	budgetWindow, budgetSent uint64 // sample rate limit (tf_budget)
}

// NewFlows makes an empty accumulator.
func NewFlows() *Flows {
	return &Flows{Stats: map[contract.FlowKey]*contract.FlowStats{}, RTP: map[contract.RTPKey]*contract.RTPStats{}}
}

// Add counts one frame seen at tsNs in the given direction and namespace,
// and returns the parsed packet and the parse result.
func (f *Flows) Add(data []byte, l2 bool, proto uint16, egress bool, netns, tsNs uint64) (Packet, Result) {
	p, res := Parse(data, l2, proto)
	switch res {
	case Skip:
		return p, res
	case Short:
		f.Counters[contract.CntParseShort]++
		return p, res
	}
	if p.Fragment {
		f.Counters[contract.CntIPFragment]++
	}
	k := Key(p, egress, netns)
	s := f.Stats[k]
	if s == nil {
		s = &contract.FlowStats{}
		f.Stats[k] = s
	}
	d := &s.Dir[1]
	if egress {
		d = &s.Dir[0]
	}
	if d.Packets == 0 {
		d.FirstNs = tsNs
	}
	d.Packets++
	d.Bytes += uint64(p.IPLen)
	d.Last = tsNs
	d.TcpFlags |= p.TCPFlags
	d.Dscp = p.DSCP
	f.hints(data, s, k, p, egress, tsNs)
	return p, res
}

// Key orients a packet from the local end (struct tf_flow_key): egress
// packets are src=local, ingress packets dst=local.
func Key(p Packet, egress bool, netns uint64) contract.FlowKey {
	k := contract.FlowKey{Protocol: p.Protocol, Family: p.Family, Netns: netns}
	if egress {
		k.LocalAddr, k.PeerAddr, k.LocalPort, k.PeerPort = p.Src, p.Dst, p.SrcPort, p.DstPort
	} else {
		k.LocalAddr, k.PeerAddr, k.LocalPort, k.PeerPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return k
}
