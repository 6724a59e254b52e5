package analysis

import (
	"sort"
	"strings"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/teams"
)

// Records returns the current streams and those that ended less than
// Linger ago: Teams first, grouped by call (oldest call first), then the
// rest. With allApps false only Teams streams are returned. A flow that
// carries RTP is listed once per SSRC and direction, plus once for itself
// when it also carries ICE, TURN or DTLS.
func (p *Pipeline) Records(allApps bool) []record.Record {
	var out []record.Record
	addFlow := func(st *flowState) {
		if st.settler.Current().Label != "" && (allApps || st.isTeams) {
			out = append(out, p.flowRecord(st))
		}
	}
	addRTP := func(st *rtpState) {
		fl := p.flows.get(st.r.Flow)
		if fl != nil && (allApps || fl.isTeams) {
			out = append(out, p.rtpRecord(st, fl))
		}
	}
	for _, st := range p.flows {
		addFlow(st)
	}
	for _, st := range p.rtp {
		addRTP(st)
	}
	for _, e := range p.ended {
		if e.flow != nil {
			addFlow(e.flow)
		} else {
			addRTP(e.rtp)
		}
	}
	p.sortRecords(out)
	return out
}

func (p *Pipeline) sortRecords(rs []record.Record) {
	callStart := func(id string) time.Time {
		t, _ := p.calls.Start(id)
		return t
	}
	// Sort indexes, then move each record once: a record is a few hundred
	// bytes, and moving them on every swap dominated Records.
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := &rs[order[i]], &rs[order[j]]
		if (a.App == teams.App) != (b.App == teams.App) {
			return a.App == teams.App
		}
		if (a.CallID != "") != (b.CallID != "") {
			return a.CallID != ""
		}
		if a.CallID != b.CallID {
			sa, sb := callStart(a.CallID), callStart(b.CallID)
			if !sa.Equal(sb) {
				return sa.Before(sb)
			}
			return a.CallID < b.CallID
		}
		if ra, rb := record.LabelRank(a.Label), record.LabelRank(b.Label); ra != rb {
			return ra < rb
		}
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.StreamID < b.StreamID
	})
	permute(rs, order)
}

// permute puts rs[order[i]] at i for every i, following each cycle of the
// permutation with one record in hand; order ends as the identity.
func permute(rs []record.Record, order []int) {
	for start := range order {
		if order[start] == start {
			continue
		}
		held, at := rs[start], start
		for order[at] != start {
			next := order[at]
			rs[at], order[at] = rs[next], at
			at = next
		}
		rs[at], order[at] = held, at
	}
}

// base fills what a flow and its RTP sub-streams share.
func base(st *flowState) record.Record {
	id := st.f.ID.id()
	r := record.Record{
		Kind: "stream", Transport: "udp", Family: family(id.Local.Addr()),
		LocalAddr: id.Local.Addr().Unmap().String(), LocalPort: id.Local.Port(),
		PeerAddr: id.Peer.Addr().Unmap().String(), PeerPort: id.Peer.Port(),
		DSCPSent: st.f.DSCP[0], DSCPRecv: st.f.DSCP[1],
		TCPFlags:   tcpFlags(st.f.TCPFlags),
		ServerName: st.serverName,
		Netns:      id.Netns, Closed: st.f.Closed,
		Interface: st.f.Interface, SocketCookie: st.f.Cookie,
	}
	r.App, r.AppEvidence = st.verdict()
	if id.Transport == observe.TCP {
		r.Transport = "tcp"
	}
	if o := st.f.Owner; o != nil {
		uid := o.UID
		r.PID, r.Comm, r.Exe, r.UID, r.PPID, r.OwnerSource = o.PID, o.Comm, o.Exe, &uid, o.PPID, o.Source
		r.Thread = o.Thread
	}
	return r
}

// tcpFlagNames are the TCP header's flag bits, lowest first.
var tcpFlagNames = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// tcpFlags spells the flags seen, e.g. "SYN,ACK,FIN"; "" for none (UDP).
func tcpFlags(f uint8) string {
	if f == 0 {
		return ""
	}
	var b strings.Builder
	for i, n := range tcpFlagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

func (p *Pipeline) flowRecord(st *flowState) record.Record {
	r := base(st)
	res := st.settler.Current()
	r.Label, r.LabelReason, r.Confidence = res.Label, res.Reason, res.Confidence
	r.LabelChanges = st.settler.Changes()
	r.BytesSent, r.BytesRecv = st.f.Sent.Bytes, st.f.Recv.Bytes
	r.PacketsSent, r.PacketsRecv = st.f.Sent.Packets, st.f.Recv.Packets
	r.FirstSeen, r.LastSeen = st.first.Time(), st.last.Time()
	r.RateSentBps, r.RateRecvBps = rate(&st.stream)
	r.CallID, r.StreamID, r.EndReason = st.callID, streamIDString(st.id), st.endReason
	p.pathFields(&r, st.f.ID.id())
	p.flowHealth(&r, st)
	return r
}

// rtpRecord describes one SSRC in one direction. Its bytes are RTP
// payload bytes: the kernel counts IP bytes per flow, not per SSRC.
func (p *Pipeline) rtpRecord(st *rtpState, fl *flowState) record.Record {
	r := base(fl)
	res := st.shown()
	r.Label, r.LabelReason, r.Confidence = res.Label, res.Reason, res.Confidence
	if r.Label == "" {
		r.Label, r.LabelReason = record.LabelOther, classify.ReasonNone
	}
	r.LabelChanges = st.settler.Changes()
	o := st.own()
	ssrc, pt := o.SSRC, o.PayloadType
	r.SSRC, r.RTPPayloadType, r.Relayed = &ssrc, &pt, o.Relayed
	r.RTPRole = st.role
	if st.role != classify.RoleMedia {
		of := st.protects
		r.RTPProtects = &of
	}
	if o.Sent {
		r.BytesSent, r.PacketsSent, r.DSCPRecv = o.PayloadBytes, o.Packets, 0
	} else {
		r.BytesRecv, r.PacketsRecv, r.DSCPSent = o.PayloadBytes, o.Packets, 0
	}
	r.FirstSeen, r.LastSeen = st.first.Time(), st.last.Time()
	r.RateSentBps, r.RateRecvBps = rate(&st.stream)
	r.CallID, r.StreamID, r.EndReason = st.callID, streamIDString(st.id), st.endReason
	p.rtpHealth(&r, st, fl, &o)
	return r
}

// rate is the last interval's rate, zero once the stream has ended.
func rate(s *stream) (sent, recv float64) {
	if s.ended() {
		return 0, 0
	}
	return s.rateSent, s.rateRecv
}
