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

// flowState is one flow as the pipeline knows it. The small fields come
// last, together: the daemon keeps one per flow.
type flowState struct {
	stream
	f          observe.Flow
	socketKey  string // one socket (or process): for call evidence
	callKey    string // one process (or host): for calls
	peerKey    string // callKey and the peer address: one participant of a call
	peerNet    string // callKey and the peer's network
	serverName string
	app        string
	evidence   []string
	process    teams.ProcessKind
	// verdictOf is the evidence app and evidence were decided from, once
	// verdictKnown (by value: a pointer cost an allocation per flow).
	verdictOf    teams.Evidence
	verdictKnown bool
	nameIsTeams  bool
	sni          bool // serverName came from this flow's ClientHello
	hasRTP       bool
	destination  bool // the peer is known Teams (range, DNS, SNI)
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

func newFlowState(f observe.Flow, now time.Time, keys *keyStrings) *flowState {
	st := &flowState{f: f}
	st.first = firstOf(f.Sent.First, f.Recv.First, now)
	st.prevAt = st.first
	st.id = streamID(f.ID, "flow", 0, now)
	st.setOwner(f.Owner, keys)
	return st
}

// setOwner derives the owner-based keys once the owner is known.
func (st *flowState) setOwner(o *observe.Owner, keys *keyStrings) {
	id := st.f.ID
	st.process = teams.Process(o)
	switch {
	case o != nil:
		st.socketKey = keys.of(fmt.Appendf(keys.buf[:0], "p%d/%d", id.Netns, o.PID))
		st.callKey = st.socketKey
	default:
		// Without an owner a local UDP port is one socket (ICE and media of
		// one stream share it) and a local address is one host.
		st.socketKey = keys.of(fmt.Appendf(keys.buf[:0], "s%d/%d/%s", id.Netns, id.Transport, id.Local))
		st.callKey = keys.of(fmt.Appendf(keys.buf[:0], "h%d/%s", id.Netns, id.Local.Addr()))
	}
	// Built once: analyse looks them up for every flow at every snapshot.
	st.peerKey = keys.of(fmt.Appendf(keys.buf[:0], "%s>%s", st.callKey, id.Peer.Addr()))
	st.peerNet = keys.of(fmt.Appendf(keys.buf[:0], "%s@%s", st.callKey, network(id.Peer.Addr())))
}

// maxKeyStrings bounds keyStrings; when full it starts afresh (the keys
// handed out stay valid).
const maxKeyStrings = 4096

// keyStrings hands out one copy of each owner and peer key: the flows of
// one process to one peer share their keys, and 10k flows of a process
// otherwise kept 30k copies of a few strings.
type keyStrings struct {
	m   map[string]string
	buf []byte
}

// of returns the shared copy of key, which may be keys.buf.
func (k *keyStrings) of(key []byte) string {
	k.buf = key[:0]
	if s, ok := k.m[string(key)]; ok {
		return s
	}
	if k.m == nil || len(k.m) >= maxKeyStrings {
		k.m = make(map[string]string)
	}
	s := string(key)
	k.m[s] = s
	return s
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
