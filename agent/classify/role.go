package classify

import "time"

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
	Markers     uint64
	MaxTS       uint32  // highest RTP timestamp
	Clock       float64 // Hz over the life, 0 when not known
	Last        time.Time
}

// tsAt is where o's timestamp stood at time t (before its last packet),
// on its clock or the video clock: a repair source that went quiet is
// compared with its media as it was then.
func (o Sibling) tsAt(t time.Time) uint32 {
	clock := o.Clock
	if clock <= 0 {
		clock = 90000
	}
	back := o.Last.Sub(t)
	if back <= 0 || o.Last.IsZero() || t.IsZero() {
		return o.MaxTS
	}
	return o.MaxTS - uint32(back.Seconds()*clock)
}

// Repair evidence. An RTX packet keeps the timestamp of the packet it
// repeats (RFC 4588 section 4), and libwebrtc's padding on the RTX SSRC
// (padding only, or old packets again) carries media timestamps too: so
// an RTX source's timestamps stay within seconds of its media's,
// though every sender draws each SSRC's timestamp base at random (RFC
// 3550). Its payload type differs. FlexFEC (RFC 8627, libwebrtc) runs its
// own timestamp base at 90 kHz and never sets the marker bit, which every
// video frame's last packet carries.
const (
	repairTSWindow = 900_000 // 10 s at 90 kHz: an old frame of a static share sent again, or padding long after it
	fecMinPackets  = 20      // packets without a marker before a source counts as FEC
)

// RepairOf says whether s repairs one of its siblings, and which. role is
// RoleRTX (timestamps next to a busier sibling's, another payload type),
// RoleFEC (a marker-less 90 kHz source beside a busier video one) or ""
// for media.
func RepairOf(s Sibling, siblings []Sibling) (role string, protects uint32) {
	if of, ok := rtxOf(s, siblings); ok {
		return RoleRTX, of
	}
	if of, ok := fecOf(s, siblings); ok {
		return RoleFEC, of
	}
	return "", 0
}

// rtxOf is the sibling with another payload type whose timestamps are
// nearest to s's, within a retransmission's age, and of the two the media:
// the one without padding-only packets (a sender with RTX pads on RTX),
// else the busier one.
func rtxOf(s Sibling, siblings []Sibling) (uint32, bool) {
	best, of, found := int64(repairTSWindow)+1, uint32(0), false
	for _, o := range siblings {
		if o.SSRC == s.SSRC || o.PayloadType == s.PayloadType || !repairs(s, o) {
			continue
		}
		d := int64(int32(s.MaxTS - o.tsAt(s.Last)))
		if d < 0 {
			d = -d
		}
		if d < best {
			best, of, found = d, o.SSRC, true
		}
	}
	return of, found
}

// repairs says which of two timestamp-linked sources is the repair one.
func repairs(s, media Sibling) bool {
	if (s.PadOnly > 0) != (media.PadOnly > 0) {
		return s.PadOnly > 0
	}
	return media.Packets > s.Packets
}

// fecOf is the busiest video sibling of a marker-less 90 kHz source.
func fecOf(s Sibling, siblings []Sibling) (uint32, bool) {
	if s.Markers > 0 || s.Packets < fecMinPackets || !videoClock(s.Clock) {
		return 0, false
	}
	var of uint32
	var most uint64
	for _, o := range siblings {
		if o.SSRC != s.SSRC && o.PayloadType != s.PayloadType && o.Markers > 0 && videoClock(o.Clock) &&
			o.Packets > s.Packets && o.Packets > most {
			of, most = o.SSRC, o.Packets
		}
	}
	return of, most > 0
}

func videoClock(c float64) bool { return c >= videoMinClock && c <= maxClock }
