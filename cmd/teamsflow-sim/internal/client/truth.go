package client

import (
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// rtcpSR is the payload type recorded for the RTCP entries (sender report).
const rtcpSR = 200

// truth lists the transport's flows: one entry per media SSRC and path,
// one RTCP entry per SSRC and path, and the STUN/TURN exchanges per
// destination.
func (t *transport) truth() []truth.Stream {
	var out []truth.Stream
	for _, s := range t.senders {
		s.mu.Lock()
		for path := range s.paths {
			if path == pathFirst || s.paths[path].sent+s.paths[path].rtcpSent > 0 {
				out = append(out, t.pathTruth(s, path)...)
			}
		}
		s.mu.Unlock()
	}
	out = append(out, t.signalTruth()...)
	return out
}

// pathTruth is a sender's media and RTCP entries on one path; s.mu held.
func (t *transport) pathTruth(s *sender, path int) []truth.Stream {
	local := t.conn.LocalAddr()
	mediaPeer, relayed := t.peer, t.relay != nil && path == pathFirst
	if relayed {
		mediaPeer = t.relayAddr
	}
	pc := &s.paths[path]
	m := udpTruth(local, mediaPeer)
	pt := s.st.PayloadType
	m.Label, m.SSRC, m.PayloadType, m.Codec, m.DSCP = s.st.Kind, s.st.SSRC, &pt, s.st.Codec, t.p.DSCP
	m.InjectedLoss, m.InjectedJitterMs = s.st.Loss, float64(s.st.Jitter.Microseconds())/1000
	m.PacketsSent, m.PacketsSkipped, m.BytesSent, m.FramesSent = pc.sent, pc.skipped, pc.bytes, pc.frames
	m.PacketsRecv = t.received(s.st.PeerSSRC)
	m.FPS, m.PacketRate, m.BitrateKbps = s.st.FPS, s.st.PacketRate, s.st.BitrateKbps
	m.SizeMin, m.SizeMax, m.MaxPacket = s.st.SizeMin, s.st.SizeMax, s.st.MaxPacket
	m.StartedAt, m.EndedAt, m.Active = pc.first, pc.last, append([]truth.Interval{}, pc.active...)
	if relayed {
		m.Relayed, m.RelayPeerAddr, m.RelayPeerPort = true, t.peer.IP.String(), t.peer.Port
	}
	r := udpTruth(local, mediaPeer)
	rpt := rtcpSR
	r.Label, r.SSRC, r.PayloadType, r.DSCP = truth.LabelRTCP, s.st.SSRC, &rpt, t.p.DSCP
	r.PacketsSent, r.BytesSent, r.Relayed = pc.rtcpSent, pc.rtcpByte, relayed
	return []truth.Stream{m, r}
}

// signalTruth lists the STUN/TURN exchanges per destination.
func (t *transport) signalTruth() []truth.Stream {
	local := t.conn.LocalAddr()
	var out []truth.Stream
	for dst, ct := range t.conn.snapshot() {
		if ct.STUN+ct.TURN == 0 {
			continue
		}
		// A 5-tuple that carried TURN methods is the allocation's; one
		// that only carried Binding requests is STUN (gathering or ICE).
		s := udpTruth(local, udpAddr(dst))
		s.Label, s.DSCP = truth.LabelSTUN, t.p.DSCP
		if ct.TURN > 0 {
			s.Label = truth.LabelTURN
		}
		s.PacketsSent, s.BytesSent = ct.STUN+ct.TURN, ct.Bytes
		if t.relay != nil && dst == t.relayAddr.String() {
			s.BytesSent = 0 // the media's bytes are in the media entries
		}
		out = append(out, s)
	}
	return out
}
