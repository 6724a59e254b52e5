package analysis

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/teams"
)

// Why a stream ended.
const (
	EndClosed    = "closed"
	EndIdle      = "idle"
	EndAgentStop = "agent_stop"
)

// stream is what flows and RTP sub-streams share: identity, life, label.
type stream struct {
	id          string
	first, last time.Time
	endReason   string
	endAt       time.Time
	prevAt      time.Time // snapshot of the previous counters
	window      classify.Window
	settler     classify.Settler
	callID      string
	rateSent    float64 // bits/s over the last interval
	rateRecv    float64
}

func (s *stream) ended() bool { return s.endReason != "" }

// analysable says whether the stream still gets named, attributed and
// labelled: while it runs, and once more after it ended if it never was (a
// connection that opened and closed between two snapshots is first seen
// closed; without a label it would be listed and exported nowhere).
func (s *stream) analysable() bool { return !s.ended() || s.settler.Current().Label == "" }

func (s *stream) end(reason string, at time.Time) {
	if !s.ended() {
		s.endReason, s.endAt = reason, at
	}
}

// flowState is one flow as the pipeline knows it.
type flowState struct {
	stream
	f           observe.Flow
	process     teams.ProcessKind
	socketKey   string // one socket (or process): for call evidence
	callKey     string // one process (or host): for calls
	peerKey     string // callKey and the peer address: one participant of a call
	peerNet     string // callKey and the peer's network
	serverName  string
	nameIsTeams bool
	sni         bool // serverName came from this flow's ClientHello
	hasRTP      bool
	app         string
	evidence    []string
	verdictOf   *teams.Evidence // the evidence app and evidence were decided from
	destination bool            // the peer is known Teams (range, DNS, SNI)
	// ownSignalling: a non-Teams, non-browser process that also carries
	// media: its TLS connections are its call's signalling.
	ownSignalling bool
}

// rtpKey names one RTP source in one direction of a flow.
type rtpKey struct {
	flow observe.FlowID
	sent bool
	ssrc uint32
}

// rtpState is one RTP sub-stream.
type rtpState struct {
	stream
	r observe.RTPStream
}

func newFlowState(f observe.Flow, now time.Time) *flowState {
	st := &flowState{f: f}
	st.first = firstOf(f.Sent.First, f.Recv.First, now)
	st.prevAt = st.first
	st.id = streamID(f.ID, "flow", 0, now)
	st.setOwner(f.Owner)
	return st
}

// setOwner derives the owner-based keys once the owner is known.
func (st *flowState) setOwner(o *observe.Owner) {
	id := st.f.ID
	st.process = teams.Process(o)
	switch {
	case o != nil:
		st.socketKey = fmt.Sprintf("p%d/%d", id.Netns, o.PID)
		st.callKey = st.socketKey
	default:
		// Without an owner a local UDP port is one socket (ICE and media of
		// one stream share it) and a local address is one host.
		st.socketKey = fmt.Sprintf("s%d/%d/%s", id.Netns, id.Transport, id.Local)
		st.callKey = fmt.Sprintf("h%d/%s", id.Netns, id.Local.Addr())
	}
	// Built once: analyse looks them up for every flow at every snapshot.
	st.peerKey = st.callKey + ">" + id.Peer.Addr().String()
	st.peerNet = st.callKey + "@" + network(id.Peer.Addr())
}

func firstOf(a, b, fallback time.Time) time.Time {
	switch {
	case a.IsZero() && b.IsZero():
		return fallback
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// streamID is stable for a stream's life: its tuple, direction and SSRC
// and the snapshot that first saw it.
func streamID(id observe.FlowID, kind string, ssrc uint32, created time.Time) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%s|%s|%s|%d|%d", id.Netns, id.Transport, id.Local, id.Peer, kind, ssrc, created.UnixNano())
	return fmt.Sprintf("%016x", h.Sum64())
}

// headerBytes estimates IP and transport headers per packet, to turn IP
// byte counters into payload sizes for flows without RTP.
func headerBytes(id observe.FlowID) uint64 {
	h := uint64(20)
	if id.Local.Addr().Is6() && !id.Local.Addr().Is4In6() {
		h = 40
	}
	if id.Transport == observe.TCP {
		return h + 32 // with the usual timestamp option
	}
	return h + 8
}

func lastOf(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func family(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return "ipv4"
	}
	return "ipv6"
}
