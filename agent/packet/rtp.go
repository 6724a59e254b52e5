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
		// A.1: a new source starts on probation.
		st.FirstNs, st.MaxTs = tsNs, ts
		rtpSeqInit(st, seq, 0)
		st.MaxSeq, st.Probation = uint32(seq)-1, minSequential
	} else {
		rtpTs(st, ts)
	}
	// Jitter as libwebrtc computes it: in-order packets whose timestamp
	// differs from the last in-order packet's (see tf_rtp_packet).
	if v := rtpSeq(st, seq); v == seqNext || v == seqNew {
		if v == seqNext && st.Packets != 0 && ts != st.LastTs {
			st.Jitter16 = Jitter16(st.Jitter16, tsNs-st.JitterNs, ts-st.LastTs, contract.RTPClock(pt))
		}
		st.LastTs, st.JitterNs = ts, tsNs
	}
	st.Packets++
	st.PayloadBytes += uint64(payload)
	st.PayloadSquares += uint64(payload * payload)
	st.Markers += marker
	st.PadBytes += uint64(pad)
	st.PadOnly += padOnly
	rtpMainPT(st, pt)
	st.LastNs, st.PayloadType, st.Relayed = tsNs, pt, relayed
}

// Jitter16 is one step of RFC 3550 A.8's interarrival jitter, in ns
// scaled by 16, as tf_rtp_jitter computes it: arrival is the spacing of two
// in-order packets' arrivals in ns, tsDelta of their RTP timestamps. A |D|
// of jitterJump samples or more (libwebrtc's bound) leaves j as it was.
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
	if uint64(d) >= jitterCapNs || uint64(d)*uint64(clock) >= jitterJump*1_000_000_000 {
		return j
	}
	return j + uint64(d) - (j+8)>>4
}

// Twins of tf_hints.h's constants.
const (
	seqNear  = 64      // TF_RTP_SEQ_NEAR
	ptCN     = 13      // TF_RTP_PT_CN
	tsRebase = 1 << 28 // TF_RTP_TS_REBASE

	// RFC 3550 A.1's parameters and the duplicate check's reach.
	seqMod        = 0x10000    // TF_RTP_SEQ_MOD
	maxDropout    = 3000       // TF_RTP_MAX_DROPOUT
	maxMisorder   = 100        // TF_RTP_MAX_MISORDER
	minSequential = 2          // TF_RTP_MIN_SEQUENTIAL
	noBadSeq      = seqMod + 1 // TF_RTP_NO_BAD_SEQ
	seenReach     = 64         // TF_RTP_SEEN
	jitterJump    = 450000     // TF_RTP_JITTER_JUMP
	jitterCapNs   = 60e9       // TF_RTP_JITTER_CAP_NS
)

// What RFC 3550 A.1 made of a packet's sequence number (enum
// tf_seq_verdict).
const (
	seqHeld = iota // not counted: a large jump, or on probation
	seqNew         // on probation, out of sequence: probation starts again
	seqNext        // in order, or a resync
	seqLate        // counted, behind the highest
	seqDup         // already seen: counted apart
)

// rtpSeqInit is tf_rtp_seq_init: A.1 init_seq, base_seq moved back by the
// packets expected before a resync so that the counts go on.
func rtpSeqInit(st *contract.RTPStats, seq uint16, carry uint32) {
	st.BaseSeq, st.MaxSeq, st.BadSeq, st.Seen = uint32(seq)-carry, uint32(seq), noBadSeq, 1
}

// rtpSeq is tf_rtp_seq: RFC 3550 A.1 update_seq with duplicates counted
// apart, and the steps a little ahead of the highest.
func rtpSeq(st *contract.RTPStats, seq uint16) int {
	udelta := seq - uint16(st.MaxSeq)
	if st.Packets != 0 && udelta >= 1 && udelta <= seqNear {
		st.SeqSteps++
	}
	if st.Probation != 0 {
		if udelta != 1 {
			st.Probation, st.MaxSeq = minSequential-1, uint32(seq)
			return seqNew
		}
		st.MaxSeq = uint32(seq)
		if st.Probation--; st.Probation != 0 {
			return seqNext
		}
		rtpSeqInit(st, seq, 0)
		st.Received++
		return seqNext
	}
	switch {
	case udelta != 0 && udelta < maxDropout:
		st.MaxSeq += uint32(udelta)
		if udelta >= seenReach {
			st.Seen = 1
		} else {
			st.Seen = st.Seen<<udelta | 1
		}
		st.Received++
		return seqNext
	case udelta != 0 && udelta <= seqMod-maxMisorder:
		if uint32(seq) != st.BadSeq {
			st.BadSeq = (uint32(seq) + 1) & (seqMod - 1)
			return seqHeld
		}
		rtpSeqInit(st, seq, st.MaxSeq-st.BaseSeq+1) // two in sequence: the sender restarted
		st.Received++
		return seqNext
	}
	if behind := -udelta; behind < seenReach {
		bit := uint64(1) << behind
		if st.Seen&bit != 0 {
			st.Duplicates++
			return seqDup
		}
		st.Seen |= bit
	}
	st.Received++
	return seqLate
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
