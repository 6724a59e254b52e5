package analysis

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/intern"
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
	id          uint64 // streamID; records spell it in hex
	first, last instant
	endReason   string
	endAt       instant
	prevAt      instant // snapshot of the previous counters
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
		s.endReason, s.endAt = reason, instantOf(at)
	}
}

// flowState is one flow as the pipeline knows it. The small fields come
// last, together: the daemon keeps one per flow.
type flowState struct {
	stream
	f          lastFlow
	keys       *flowKeys // shared by the flows of one owner and peer
	serverName string
	process    teams.ProcessKind
	// verdictOf is the evidence the app and its evidence are decided from
	// (teams.Evidence.Verdict), once verdictKnown; isTeams is that verdict.
	// The evidence list is made only for records: most flows are not
	// Teams, and the daemon keeps one state per flow.
	verdictOf    teams.Evidence
	verdictKnown bool
	isTeams      bool
	nameIsTeams  bool
	sni          bool // serverName came from this flow's ClientHello
	hasRTP       bool
	destination  bool // the peer is known Teams (range, DNS, SNI)
	// ownSignalling: a non-Teams, non-browser process that also carries
	// media: its TLS connections are its call's signalling.
	ownSignalling bool
}

// lastFlow is what a flow's state keeps of the flow's latest
// observation: its counters without their first and last times, which the
// stream keeps (four times were 96 of a state's bytes).
type lastFlow struct {
	ID         flowKey
	Owner      *observe.Owner
	Sent, Recv counts
	Interface  string // shares the observation's bytes
	Cookie     uint64
	Protos     observe.Protocols
	Closed     bool
	TCPFlags   uint8
	// DSCP is each direction's last (sent, received): apart from counts,
	// where each took 8 bytes of padding.
	DSCP [2]uint8
}

// counts are one direction's counters without their times.
type counts struct {
	Packets, Bytes uint64
}

// keepFlow keeps f, whose key (keyOf(f.ID)) is key: a flow's key does
// not change, so a state's next observation keeps the one it has.
func keepFlow(f *observe.Flow, key flowKey) lastFlow {
	c := func(c *observe.Counters) counts { return counts{c.Packets, c.Bytes} }
	return lastFlow{ID: key, Owner: f.Owner, Sent: c(&f.Sent), Recv: c(&f.Recv), Protos: f.Protos, Closed: f.Closed,
		TCPFlags: f.TCPFlags, Interface: f.Interface, Cookie: f.Cookie, DSCP: [2]uint8{f.Sent.DSCP, f.Recv.DSCP}}
}

// observation is the latest observation again, without times: what a
// snapshot of changes implies for a flow it left out.
func (l *lastFlow) observation() observe.Flow {
	c := func(c counts, dscp uint8) observe.Counters {
		return observe.Counters{Packets: c.Packets, Bytes: c.Bytes, DSCP: dscp}
	}
	return observe.Flow{ID: l.ID.id(), Owner: l.Owner, Sent: c(l.Sent, l.DSCP[0]), Recv: c(l.Recv, l.DSCP[1]), Protos: l.Protos, Closed: l.Closed,
		TCPFlags: l.TCPFlags, Interface: l.Interface, Cookie: l.Cookie}
}

// flowKeys are a flow's owner-based keys.
type flowKeys struct {
	socket  string // one socket (or process): for call evidence
	call    string // one process (or host): for calls
	peer    string // call and the peer address: one participant of a call
	peerNet string // call and the peer's network
}

// verdict is the flow's app ("teams" or "") and the evidence for it.
func (st *flowState) verdict() (app string, evidence []string) {
	if !st.verdictKnown {
		return "", nil
	}
	return st.verdictOf.Verdict()
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
	r observe.RTPStream // the source's latest counters (the kernel's, over its whole life)
	// base is r when this stream began: zero, or the counters of the
	// stream that ended before the source resumed (see own).
	base observe.RTPStream
	life classify.Life
	// role: media, or a repair stream (rtx, fec) of the stream with SSRC
	// protects in the same flow and direction. A repair stream shows its
	// media's label.
	role     string
	protects uint32
	follows  classify.Result // the protected stream's label
	// lossOutOfRange and healthRejected: the anomaly was counted once
	// for this stream (records are built many times).
	lossOutOfRange bool
	healthRejected bool
}

func newFlowState(f observe.Flow, now time.Time, keys *keyStrings) *flowState {
	st := &flowState{f: keepFlow(&f, keyOf(f.ID))}
	st.first = instantOf(firstOf(f.Sent.First, f.Recv.First, now))
	st.prevAt = st.first
	st.id = streamID(f.ID, "flow", 0, now)
	st.setOwner(f.Owner, keys)
	return st
}

// setOwner derives the owner-based keys once the owner is known.
func (st *flowState) setOwner(o *observe.Owner, keys *keyStrings) {
	id := st.f.ID.id()
	st.process = teams.Process(o)
	var k flowKeys
	switch {
	case o != nil:
		k.socket = keys.of(fmt.Appendf(keys.buf[:0], "p%d/%d", id.Netns, o.PID))
		k.call = k.socket
	default:
		// Without an owner a local UDP port is one socket (ICE and media of
		// one stream share it) and a local address is one host.
		k.socket = keys.of(fmt.Appendf(keys.buf[:0], "s%d/%d/%s", id.Netns, id.Transport, id.Local))
		k.call = keys.of(fmt.Appendf(keys.buf[:0], "h%d/%s", id.Netns, id.Local.Addr()))
	}
	// Built once: analyse looks them up for every flow at every snapshot.
	k.peer = keys.of(fmt.Appendf(keys.buf[:0], "%s>%s", k.call, id.Peer.Addr()))
	k.peerNet = keys.of(fmt.Appendf(keys.buf[:0], "%s@%s", k.call, network(id.Peer.Addr())))
	st.keys = keys.shared(k)
}

// maxKeyStrings bounds keyStrings; when full it starts afresh (the keys
// handed out stay valid).
const maxKeyStrings = 4096

// keyStrings hands out one copy of each owner and peer key, and of each
// set of them: the flows of one process to one peer share their keys, and
// 10k flows of a process otherwise kept 30k copies of a few strings.
type keyStrings struct {
	m    map[string]string
	sets intern.Pool[flowKeys, *flowKeys]
	buf  []byte
}

// shared returns the shared copy of a flow's keys.
func (k *keyStrings) shared(fk flowKeys) *flowKeys {
	return k.sets.Get(fk, maxKeyStrings, intern.Pointer[flowKeys])
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

// instant is a wall-clock time in ns since the Unix epoch, 0 for none: a
// time.Time takes 24 bytes, and the daemon keeps four per stream.
type instant int64

func instantOf(t time.Time) instant {
	if t.IsZero() {
		return 0
	}
	return instant(t.UnixNano())
}

// Time is the instant as a time.Time, the zero Time for none.
func (i instant) Time() time.Time {
	if i == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(i))
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
func streamID(id observe.FlowID, kind string, ssrc uint32, created time.Time) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%s|%s|%s|%d|%d", id.Netns, id.Transport, id.Local, id.Peer, kind, ssrc, created.UnixNano())
	return h.Sum64()
}

// streamIDString is how records spell a stream id.
func streamIDString(id uint64) string { return fmt.Sprintf("%016x", id) }

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
