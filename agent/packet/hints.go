package packet

import (
	"encoding/binary"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// The Go twin of bpf/tf_hints.h: what a flow carries, read from the first
// bytes of its payloads. Any change here must be made there too.

const (
	samplesPerSec = 256 // TF_SAMPLES_PER_SEC
	helloTries    = 8   // TF_HELLO_TRIES
	hintTries     = 16  // TF_HINT_TRIES
	sampleMax     = 2048
	stunMagic     = 0x2112A442
	stunSample    = 96 // TF_STUN_SAMPLE
	stunAttrs     = 3  // TF_STUN_ATTRS
)

// stunBinding is tf_stun_binding: a STUN Binding request, success or error
// response (ICE's connectivity and consent checks), from 8 bytes.
func stunBinding(b []byte) bool {
	t := binary.BigEndian.Uint16(b)
	return binary.BigEndian.Uint32(b[4:]) == stunMagic && (t == 0x0001 || t == 0x0101 || t == 0x0111)
}

// stunIndication is tf_stun_indication: a TURN Send or Data indication.
func stunIndication(b []byte) bool { return b[0] == 0 && (b[1] == 0x16 || b[1] == 0x17) }

// stunIndicated is tf_stun_indicated: whether the indication of n bytes at
// off carries a Binding message in its DATA attribute, among its first
// stunAttrs attributes, with the header inside a sample.
func stunIndicated(data []byte, off, n int) bool {
	at := 20
	for range stunAttrs {
		if at+4+20 > stunSample || at+4+20 > n {
			return false
		}
		a, ok := loadN(data, int(uint16(off+at)), 4)
		if !ok {
			return false
		}
		alen := int(binary.BigEndian.Uint16(a[2:]))
		if a[0] == 0 && a[1] == 0x13 {
			inner, ok := loadN(data, int(uint16(off+at+4)), 8)
			return ok && alen >= 20 && stunBinding(inner)
		}
		at += 4 + (alen+3)&^3
	}
	return false
}

// loadN is bpf_skb_load_bytes: n bytes at off, if the packet has them.
func loadN(data []byte, off, n int) ([]byte, bool) {
	if off+n > len(data) {
		return nil, false
	}
	return data[off : off+n], true
}

// load12 is tf_load12: 12 payload bytes at off, if the packet has them.
func load12(data []byte, off int) ([]byte, bool) {
	if off < 0 || off+12 > len(data) {
		return nil, false
	}
	return data[off : off+12], true
}

// takeSampleBudget is tf_take_sample_budget, for one CPU.
func (f *Flows) takeSampleBudget(tsNs uint64) bool {
	if tsNs-f.budgetWindow >= 1_000_000_000 {
		f.budgetWindow, f.budgetSent = tsNs, 0
	}
	if f.budgetSent >= samplesPerSec {
		f.Counters[contract.CntSamplesRateLimited]++
		return false
	}
	f.budgetSent++
	return true
}

// sample is tf_sample: the payload's first bytes to user space, within
// the rate limit; egress says the local end sent it.
func (f *Flows) sample(data []byte, k contract.FlowKey, p Packet, kind uint8, egress bool, tsNs uint64) {
	if !f.takeSampleBudget(tsNs) {
		return
	}
	n := min(p.PayloadLen, sampleMax)
	if kind == contract.SampleSTUN {
		n = min(n, stunSample)
	}
	off := int(uint16(p.PayloadStart))
	if n == 0 || off+n > len(data) {
		return
	}
	f.Samples = append(f.Samples, contract.Sample{
		Kind: kind, Egress: egress, Flow: k, TCPSeq: p.TCPSeq, TsNs: tsNs,
		Data: append([]byte(nil), data[off:off+n]...),
	})
}

// hints is tf_hints for one packet of flow k whose counters are s.
func (f *Flows) hints(data []byte, s *contract.FlowStats, k contract.FlowKey, p Packet, egress bool, tsNs uint64) {
	if p.Fragment {
		return
	}
	if p.Protocol == protoUDP {
		f.hintsUDP(data, s, k, p, egress, tsNs)
	} else if egress {
		f.hintsTCP(data, s, k, p, tsNs)
	}
}

func (f *Flows) hintsUDP(data []byte, s *contract.FlowStats, k contract.FlowKey, p Packet, egress bool, tsNs uint64) {
	d := s.Dir[1]
	if egress {
		d = s.Dir[0]
	}
	if s.Protos == 0 && d.Packets > hintTries {
		return // nothing known in its first packets: not read further
	}
	off, n := int(uint16(p.PayloadStart)), p.PayloadLen
	if p.SrcPort == 53 || p.DstPort == 53 {
		// DNS: a random query id can look like RTP. Answers are sampled.
		if !egress && p.SrcPort == 53 {
			s.Protos |= contract.ProtoDNS
			f.sample(data, k, p, contract.SampleDNS, false, tsNs)
		}
		return
	}
	if n < 12 {
		return
	}
	b, ok := load12(data, off)
	if !ok {
		return
	}
	switch c := b[0]; {
	case c < 4:
		magic := binary.BigEndian.Uint32(b[4:])
		mlen := int(binary.BigEndian.Uint16(b[2:]))
		switch {
		case magic == stunMagic:
			s.Protos |= contract.ProtoSTUN
		case mlen+20 == n:
			s.Protos |= contract.ProtoMSTURN
		default:
			return
		}
		s.StunType = binary.BigEndian.Uint16(b)
		if stunMethod(s.StunType) != 1 { // every method but binding is TURN's
			s.Protos |= contract.ProtoTURN
		}
		if magic == stunMagic && n >= 20 && (stunBinding(b) || stunIndication(b) && stunIndicated(data, off, n)) {
			f.sample(data, k, p, contract.SampleSTUN, egress, tsNs)
		}
	case c >= 20 && c < 64:
		if b[1] == 0xFE {
			s.Protos |= contract.ProtoDTLS
		}
	case c >= 64 && c < 80:
		clen := int(binary.BigEndian.Uint16(b[2:]))
		if clen+4 > n {
			return
		}
		s.Protos |= contract.ProtoChannelData
		inner, ok := load12(data, off+4)
		if clen < 12 || !ok {
			return
		}
		if inner[0] < 4 { // STUN relayed on a channel: a check through the relay
			if clen >= 20 && stunBinding(inner) {
				f.sample(data, k, p, contract.SampleSTUN, egress, tsNs)
			}
			return
		}
		f.rtpOrRTCP(data, s, k, rtpIn{b: inner, off: off + 4, len: clen, egress: egress, relayed: true}, tsNs)
	case c >= 128 && c < 192:
		f.rtpOrRTCP(data, s, k, rtpIn{b: b, off: off, len: n, egress: egress}, tsNs)
	}
}

// hintsTCP is tf_hints_tcp: a ClientHello sent, followed into the segments
// after its first until the record is complete.
func (f *Flows) hintsTCP(data []byte, s *contract.FlowStats, k contract.FlowKey, p Packet, tsNs uint64) {
	n := p.PayloadLen
	if n == 0 {
		return
	}
	if s.Dir[0].HelloLeft != 0 {
		f.sample(data, k, p, contract.SampleClientHello, true, tsNs)
		if n >= int(s.Dir[0].HelloLeft) {
			s.Dir[0].HelloLeft = 0
		} else {
			s.Dir[0].HelloLeft -= uint16(n)
		}
		return
	}
	if s.Dir[0].Packets > helloTries || n < 12 {
		return
	}
	b, ok := load12(data, int(uint16(p.PayloadStart)))
	if !ok || b[0] != 0x16 || b[1] != 0x03 || b[5] != 0x01 {
		return
	}
	s.Protos |= contract.ProtoTLS
	record := int(binary.BigEndian.Uint16(b[3:])) + 5
	s.Dir[0].HelloLeft = 0
	if record > n {
		s.Dir[0].HelloLeft = uint16(record - n)
	}
	f.sample(data, k, p, contract.SampleClientHello, true, tsNs)
}

// stunMethod is the RFC 5389 method of a STUN message type (the class bits
// taken out).
func stunMethod(t uint16) uint16 { return t&0x000F | (t&0x00E0)>>1 | (t&0x3E00)>>2 }
