package packet

import (
	"encoding/binary"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// rtpIn is struct tf_rtp_in: an RTP packet's first 12 bytes, where it
// starts and how long it is.
type rtpIn struct {
	b       []byte
	off     int
	len     int
	egress  bool
	relayed bool
}

// rtpOrRTCP is tf_rtp_or_rtcp (RFC 5761: RTCP types 192-223).
func (f *Flows) rtpOrRTCP(data []byte, s *contract.FlowStats, k contract.FlowKey, in rtpIn, tsNs uint64) {
	if in.b[0]>>6 != 2 {
		return
	}
	if in.b[1] >= 192 && in.b[1] <= 223 {
		s.Protos |= contract.ProtoRTCP
		return
	}
	s.Protos |= contract.ProtoRTP
	f.rtpPacket(data, k, in, tsNs)
}

// rtpPacket is tf_rtp_packet: per (flow, SSRC, direction) counters with
// RFC 3550 sequence and jitter state.
func (f *Flows) rtpPacket(data []byte, k contract.FlowKey, in rtpIn, tsNs uint64) {
	b := in.b
	cc := int(b[0] & 0x0F)
	payload := int64(in.len) - 12 - 4*int64(cc)
	if b[0]&0x10 != 0 {
		// The kernel reads the extension header at a 16-bit offset.
		if at := int(uint16(in.off + 12 + 4*cc)); at+4 <= len(data) {
			payload -= 4 + 4*int64(binary.BigEndian.Uint16(data[at+2:]))
		}
	}
	payload = max(payload, 0)
	pad := rtpPadding(in, payload)
	payload -= pad
	padOnly := uint32(0)
	if payload == 0 {
		padOnly = 1
	}
	rk := contract.RTPKey{Flow: k, Ssrc: binary.BigEndian.Uint32(b[8:])}
	if in.egress {
		rk.Egress = 1
	}
	seq := binary.BigEndian.Uint16(b[2:])
	ts := binary.BigEndian.Uint32(b[4:])
	pt := b[1] & 0x7F
	marker := uint64(b[1] >> 7)
	relayed := uint8(0)
	if in.relayed {
		relayed = 1
	}
	st := f.RTP[rk]
	if st == nil {
		st = &contract.RTPStats{}
		f.RTP[rk] = st
	}
	if st.Packets == 0 {
		st.FirstNs, st.BaseSeq, st.MaxSeq, st.MaxTs = tsNs, uint32(seq), uint32(seq), ts
	} else {
		rtpSeq(st, seq)
		rtpTs(st, ts)
		st.Jitter16 = Jitter16(st.Jitter16, tsNs-st.LastNs, ts-st.LastTs, contract.RTPClock(pt))
	}
	st.Packets++
	st.PayloadBytes += uint64(payload)
	st.PayloadSquares += uint64(payload * payload)
	st.Markers += marker
	st.PadBytes += uint64(pad)
	st.PadOnly += padOnly
	rtpMainPT(st, pt)
	st.LastNs, st.LastTs, st.PayloadType, st.Relayed = tsNs, ts, pt, relayed
}

// Jitter16 is one step of RFC 3550 A.8's interarrival jitter, in ns
// scaled by 16, as tf_rtp_jitter computes it: arrival is the spacing of two
// packets' arrivals in ns, tsDelta of their RTP timestamps.
func Jitter16(j uint64, arrival uint64, tsDelta uint32, clock uint32) uint64 {
	tsd := int32(tsDelta)
	mag := uint64(tsd)
	if tsd < 0 {
		mag = uint64(-int64(tsd))
	}
	tsns := int64(mag * 1_000_000_000 / uint64(clock))
	if tsd < 0 {
		tsns = -tsns
	}
	d := int64(arrival) - tsns
	if d < 0 {
		d = -d
	}
	return j + uint64(d) - (j+8)>>4
}

// Twins of tf_hints.h's constants.
const (
	seqNear  = 64      // TF_RTP_SEQ_NEAR
	ptCN     = 13      // TF_RTP_PT_CN
	tsRebase = 1 << 28 // TF_RTP_TS_REBASE
)

// rtpSeq is tf_rtp_seq: the highest sequence number, and the steps a
// little ahead of it.
func rtpSeq(st *contract.RTPStats, seq uint16) {
	delta := seq - uint16(st.MaxSeq)
	if delta >= 1 && delta <= seqNear {
		st.SeqSteps++
	}
	if delta < 0x8000 {
		st.MaxSeq += uint32(delta)
	}
}

// rtpTs is tf_rtp_ts: frames and the clock from the highest timestamp; a
// timestamp far behind it is a new base.
func rtpTs(st *contract.RTPStats, ts uint32) {
	switch step := int32(ts - st.MaxTs); {
	case step > 0:
		st.TsAdvance += uint64(step)
		st.Frames++
		st.MaxTs = ts
	case step < -tsRebase:
		st.MaxTs = ts // far behind: a new base, not a late packet
	}
}

// rtpMainPT is tf_rtp_main_pt: the Boyer-Moore majority payload type.
func rtpMainPT(st *contract.RTPStats, pt uint8) {
	switch {
	case pt == ptCN:
	case pt == st.MainPt:
		if st.MainVotes < 0xFFFF {
			st.MainVotes++
		}
	case st.MainVotes == 0:
		st.MainPt, st.MainVotes = pt, 1
	default:
		st.MainVotes--
	}
}

// rtpPadding is tf_rtp_padding: a packet with the P bit is padding, all
// of it (SRTP encrypts the padding count; libwebrtc pads only probes).
func rtpPadding(in rtpIn, payload int64) int64 {
	if in.b[0]&0x20 == 0 {
		return 0
	}
	return payload
}
