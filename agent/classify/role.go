package classify

// RTP roles: a source carries media of its own, or repairs another one's.
const (
	RoleMedia = "media"
	RoleRTX   = "rtx" // RFC 4588 retransmissions (and the padding probes a sender puts on them)
	RoleFEC   = "fec" // RFC 5109 / 8627 forward error correction on its own SSRC
)

// Sibling is what role detection reads of one RTP source of a flow and
// direction. SRTP hides payloads, so this is header evidence only.
type Sibling struct {
	SSRC        uint32
	PayloadType uint8  // main payload type
	Packets     uint64 // all packets, padding-only ones included
	PadOnly     uint64
	MaxTS       uint32 // highest RTP timestamp
}

// Repair evidence. An RTX packet keeps the timestamp of the packet it
// repeats (RFC 4588 section 4), and libwebrtc's padding probes on the RTX
// SSRC carry the last media timestamp plus the time since: so an RTX
// source's timestamps stay within a round trip of its media's, though
// every sender draws each SSRC's timestamp base at random (RFC 3550). Its
// payload type differs (RTX and FEC have their own). RTX carries only
// losses and probes: few packets next to the media, or mostly padding.
const (
	repairTSWindow   = 180_000 // 2 s at 90 kHz: a retransmission's age at most
	rtxMinPadShare   = 0.2
	rtxMaxMediaShare = 0.25 // RTX packets per media packet
)

// RepairOf says whether s repairs one of its siblings, and which: the
// sibling with more packets, another payload type and the nearest
// timestamp within a retransmission's age. role is RoleRTX or RoleFEC,
// "" for media.
func RepairOf(s Sibling, siblings []Sibling) (role string, protects uint32) {
	best, found := int64(repairTSWindow)+1, false
	var m Sibling
	for _, o := range siblings {
		if o.SSRC == s.SSRC || o.PayloadType == s.PayloadType || o.Packets <= s.Packets {
			continue
		}
		d := int64(int32(s.MaxTS - o.MaxTS))
		if d < 0 {
			d = -d
		}
		if d < best {
			best, m, found = d, o, true
		}
	}
	if !found {
		return "", 0
	}
	padShare := float64(s.PadOnly) / float64(max(s.Packets, 1))
	if padShare >= rtxMinPadShare || float64(s.Packets) <= rtxMaxMediaShare*float64(m.Packets) {
		return RoleRTX, m.SSRC
	}
	return RoleFEC, m.SSRC
}
