package analysis

import (
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/health"
	"github.com/teamsflow/teamsflow/agent/health/stunrtt"
	"github.com/teamsflow/teamsflow/agent/netif"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/teams"
)

// Paths tells the pipeline what packet counters do not: a TCP flow's round
// trip as the kernel's own estimate has it, and the kind of the interface
// a flow goes through (the observation names the interface). The agent has
// one (sock_diag and rtnetlink, see cmd/teamsflow); a capture file has
// none, so analyze leaves both out.
type Paths interface {
	// TCPRTT is the kernel's smoothed round trip of a TCP flow's socket.
	TCPRTT(id observe.FlowID) (time.Duration, bool)
	// InterfaceKind is the kind of the interface a flow was seen on
	// (agent/netif: wired, wifi, vpn, loopback, virtual); "" when unknown.
	InterfaceKind(id observe.FlowID) string
}

// stunSample feeds one STUN Binding sample (a connectivity or consent
// check, bare or in TURN framing) to the round-trip matcher. Bytes that
// are not STUN are counted by the matcher and logged here, never fatal.
func (p *Pipeline) stunSample(pl *observe.Payload) {
	dir := stunrtt.Ingress
	if pl.Sent {
		dir = stunrtt.Egress
	}
	if err := p.stun.Observe(pl.Flow, dir, pl.Time, pl.Data); err != nil {
		p.log.Debug().Err(err).Stringer("peer", pl.Flow.Peer).Msg("STUN sample")
	}
}

// rttMs is a flow's round trip: the STUN checks' smoothed estimate for UDP,
// the kernel's for TCP; nil when not measured.
func (p *Pipeline) rttMs(id observe.FlowID) *float64 {
	var d time.Duration
	switch {
	case id.Transport == observe.UDP:
		e, ok := p.stun.RTT(id)
		if !ok {
			return nil
		}
		d = e.Smoothed
	case p.cfg.Paths != nil:
		rtt, ok := p.cfg.Paths.TCPRTT(id)
		if !ok {
			return nil
		}
		d = rtt
	default:
		return nil
	}
	ms := float64(d) / float64(time.Millisecond)
	return &ms
}

// pathFields fills what every record of a flow shares: the round trip, the
// interface kind and, for Teams media through a VPN, the path warning.
func (p *Pipeline) pathFields(r *record.Record, id observe.FlowID) {
	r.RTTMs = p.rttMs(id)
	if p.cfg.Paths == nil {
		return
	}
	r.InterfaceKind = p.cfg.Paths.InterfaceKind(id)
}

// stackOf is the media stack of a flow's owner, which decides how its
// dynamic payload types read: the Teams desktop client's own stack binds
// SILK to 103/104; teams-for-linux (Electron) and browsers are WebRTC.
func stackOf(st *flowState) health.Stack {
	switch st.process {
	case teams.ProcessBrowser, teams.ProcessBrowserApp:
		return health.StackWebRTC
	case teams.ProcessDesktop:
		if o := st.f.Owner; o != nil && electron(o) {
			return health.StackWebRTC
		}
		return health.StackTeams
	}
	return health.StackUnknown
}

// electron says whether a desktop client is the Electron teams-for-linux
// (its network-service child carries the media), not Microsoft's client.
func electron(o *observe.Owner) bool {
	if o.Comm == "teams-for-linux" || baseName(o.Exe) == "teams-for-linux" {
		return true
	}
	for _, a := range o.Ancestors {
		if a.Comm == "teams-for-linux" || baseName(a.Exe) == "teams-for-linux" {
			return true
		}
	}
	return false
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// rtpHealth fills an RTP record's health fields. Loss and jitter of a sent
// stream are the far receiver's to measure (its reports travel inside
// SRTCP, encrypted): they stay absent, never 0.
func (p *Pipeline) rtpHealth(r *record.Record, st *rtpState, fl *flowState, o *observe.RTPStream) {
	p.pathFields(r, o.Flow)
	r.Codec = health.Codec(o.PayloadType, stackOf(fl))
	if d, ok := health.DSCPExpected(r.Label); ok && st.role == classify.RoleMedia {
		r.DSCPExpected = &d
	}
	if (r.Label == record.LabelVideo || r.Label == record.LabelScreenshare) && st.role == classify.RoleMedia {
		if f := st.life.Features(); f.Clock > 0 && f.Seconds > 0 {
			fps := f.FramesPerSec
			r.FramesPerSec = &fps
		}
	}
	in := health.Stream{Label: r.Label, Direction: health.Received, Codec: r.Codec, Packets: o.Packets,
		RTTMs: r.RTTMs, FramesPerSec: r.FramesPerSec}
	if o.Sent {
		in.Direction = health.Sent
	} else {
		lost, rate := clampLoss(o)
		jitter := float64(o.Jitter) / float64(time.Millisecond)
		dups := o.Duplicates
		r.RTPLost, r.RTPJitterMs, r.RTPDuplicates = &lost, &jitter, &dups
		if o.Expected > 0 {
			pct := 100 * rate
			r.RTPLossPct = &pct
			in.LossRate = &rate
		}
		in.JitterMs = &jitter
	}
	if st.role != classify.RoleMedia {
		return // a repair stream's figures are its media's business
	}
	v := health.Assess(in)
	r.Quality, r.QualityReasons, r.QualityCovers, r.MOS = v.Quality, v.Reasons, string(v.Covers), v.MOS
	if len(v.Rejected) > 0 && !st.healthRejected {
		st.healthRejected = true
		p.counters.HealthInputRejected++
		p.log.Warn().Strs("rejected", v.Rejected).Str("stream_id", r.StreamID).Msg("health input out of range: not used")
	}
	pathWarning(r)
}

// flowHealth judges a media flow none of whose packets read as RTP (a
// Teams media socket whose RTP is in a framing the parser does not read,
// with only its RTCP visible, or a flow labelled by its rate) by its round
// trip alone; a flow whose RTP sources have records of their own
// leaves the verdicts to them, so that a call counts each stream once.
func (p *Pipeline) flowHealth(r *record.Record, st *flowState) {
	if st.hasRTP || !classify.IsMedia(r.Label) {
		return
	}
	if d, ok := health.DSCPExpected(r.Label); ok {
		r.DSCPExpected = &d
	}
	in := health.Stream{Label: r.Label, Direction: health.Path, Packets: st.f.Sent.Packets + st.f.Recv.Packets,
		RTTMs: r.RTTMs}
	v := health.Assess(in)
	r.Quality, r.QualityReasons, r.QualityCovers = v.Quality, v.Reasons, string(v.Covers)
	pathWarning(r)
}

// pathWarning warns of Teams media through a VPN tunnel.
func pathWarning(r *record.Record) {
	if w, ok := netif.VPNWarning(r.InterfaceKind, r.Label); ok && r.App == teams.App {
		r.PathWarning = w
	}
}

// clampLoss is a received stream's cumulative loss within 0..expected and
// its rate. RFC 3550's expected-minus-received goes negative with
// duplicates and past expected after a sequence jump the source counted
// wrong; neither is loss, and a record never shows loss outside 0-100%.
func clampLoss(o *observe.RTPStream) (lost int64, rate float64) {
	lost = min(max(o.Lost, 0), int64(o.Expected))
	if o.Expected == 0 {
		return lost, 0
	}
	return lost, float64(lost) / float64(o.Expected)
}

// lossOutOfRange says whether a received stream's counters put loss
// outside 0..expected (beyond what duplicates explain), which clampLoss
// hides from the record and the pipeline counts once per stream.
func lossOutOfRange(o *observe.RTPStream) bool {
	return !o.Sent && (o.Lost+int64(o.Duplicates) < 0 || o.Lost > int64(o.Expected))
}
