package analysis

import (
	"net/netip"
	"sort"

	"github.com/teamsflow/teamsflow/agent/calls"
	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/teams"
)

// analyse names, attributes, labels and groups the running streams.
func (p *Pipeline) analyse() {
	media := map[string][]*flowState{} // socket key, or owner and peer address -> Teams real-time flows
	withMedia := map[string]bool{}     // call keys (owners) whose flows carry RTP
	for _, st := range p.flows {
		if !st.analysable() {
			continue
		}
		p.name(st)
		p.attribute(st, false)
		if st.isTeams && carriesRealtime(st.f) {
			media[st.keys.socket] = append(media[st.keys.socket], st)
			media[st.keys.peer] = append(media[st.keys.peer], st)
		}
		if st.hasRTP {
			withMedia[st.keys.call] = true
			withMedia[st.keys.peerNet] = true
		}
	}
	// Call evidence: a real-time UDP flow of the same socket (or process)
	// as a Teams real-time flow at the same time (media to a peer-to-peer
	// participant after ICE through a Teams relay), or of the same owner to
	// the same participant (another media socket of that call).
	// A flow that joins passes it on (relay -> audio socket's p2p flow ->
	// video socket to the same participant); a few rounds reach every sibling.
	for round, joined := 0, true; joined && round < 3; round++ {
		joined = false
		for _, st := range p.flows {
			if !st.ended() && !st.isTeams && carriesRealtime(st.f) &&
				(overlapsAny(st, media[st.keys.socket]) || (st.hasRTP && overlapsAny(st, media[st.keys.peer]))) {
				p.attribute(st, true)
				media[st.keys.socket] = append(media[st.keys.socket], st)
				media[st.keys.peer] = append(media[st.keys.peer], st)
				joined = true
			}
		}
	}
	for _, st := range p.flows {
		// A non-browser app's TLS next to its own media is its signalling;
		// without an owner, TLS into the network of the host's media peer
		// (providers run signalling and media in their own ranges).
		st.ownSignalling = (st.process == teams.ProcessOther && withMedia[st.keys.call]) ||
			(st.process == teams.ProcessUnknown && withMedia[st.keys.peerNet])
	}
	for _, st := range p.flows {
		if st.analysable() {
			p.labelFlow(st)
		}
	}
	p.labelRTPs()
	p.group()
}

// name sets the server name: the flow's own SNI wins, then DNS.
func (p *Pipeline) name(st *flowState) {
	if st.sni {
		return
	}
	id := st.f.ID.id()
	if sni, ok := p.snis[id]; ok {
		st.serverName, st.nameIsTeams, st.sni = sni, p.cfg.Names.IsTeamsName(sni), true
		return
	}
	if st.serverName != "" {
		return // keep the name the flow started with after its TTL passes
	}
	if e, ok := p.names.Lookup(p.now, id.Netns, id.Peer.Addr()); ok {
		st.serverName, st.nameIsTeams = e.Name, e.Teams
	}
}

func (p *Pipeline) attribute(st *flowState, call bool) {
	peer := st.f.ID.peerAddrPort()
	e := teams.Evidence{
		Process:   st.process,
		DestRange: p.cfg.Names.InTeamsRange(peer.Addr()),
		DNS:       st.nameIsTeams && !st.sni,
		SNI:       st.nameIsTeams && st.sni,
		Call:      call,
	}
	e.RelayPort = st.f.ID.transport == observe.UDP && p.cfg.Names.IsRelayPort(peer.Port()) && e.Destination()
	st.destination = e.Destination()
	if !st.verdictKnown || st.verdictOf != e {
		// The evidence rarely changes: keep the verdict.
		app, _ := e.Verdict()
		st.isTeams = app == teams.App
		st.verdictOf, st.verdictKnown = e, true
	}
}

// carriesRealtime says whether a UDP flow carries ICE, TURN, DTLS or media.
func carriesRealtime(f lastFlow) bool {
	const rt = observe.ProtoSTUN | observe.ProtoMSTURN | observe.ProtoChannelData | observe.ProtoDTLS | observe.ProtoRTP | observe.ProtoRTCP
	return f.ID.transport == observe.UDP && f.Protos&rt != 0
}

// network is an address's /16 (IPv4) or /32 (IPv6).
func network(a netip.Addr) string {
	bits := 32
	if a.Unmap().Is4() {
		bits = 16
	}
	p, _ := a.Unmap().Prefix(bits)
	return p.String()
}

func overlapsAny(st *flowState, others []*flowState) bool {
	for _, o := range others {
		if !st.last.Time().Before(o.first.Time().Add(-calls.Lead)) && !st.first.Time().After(o.last.Time().Add(calls.Lead)) {
			return true
		}
	}
	return false
}

func (p *Pipeline) labelFlow(st *flowState) {
	id := st.f.ID.id()
	r := p.classify.Flow(classify.Flow{
		Transport: id.Transport, LocalPort: id.Local.Port(), PeerPort: id.Peer.Port(),
		Protos: st.f.Protos, HasRTP: st.hasRTP,
		Teams: st.isTeams, Browser: browser(st.process), TeamsPeer: st.destination, AppMedia: st.ownSignalling,
		Features: st.window.Features(),
	})
	st.settler.Update(r)
}

// group assigns call ids: Teams media first (oldest first, so that the
// call id comes from the first media stream), then the owner's other
// Teams streams.
func (p *Pipeline) group() {
	type member struct {
		s     *stream
		owner string
	}
	var mediaStreams, others []member
	for k, st := range p.rtp {
		if fl := p.flows.get(k.flow); fl != nil && fl.isTeams && classify.IsMedia(st.shown().Label) {
			mediaStreams = append(mediaStreams, member{&st.stream, fl.keys.call})
		}
	}
	for _, st := range p.flows {
		switch {
		case !st.isTeams:
		case classify.IsMedia(st.settler.Current().Label):
			mediaStreams = append(mediaStreams, member{&st.stream, st.keys.call})
		default:
			others = append(others, member{&st.stream, st.keys.call})
		}
	}
	sort.Slice(mediaStreams, func(i, j int) bool { return earlier(mediaStreams[i].s, mediaStreams[j].s) })
	for _, m := range mediaStreams {
		if m.s.callID == "" || !m.s.ended() {
			m.s.callID = p.calls.Media(m.owner, m.s.first.Time(), m.s.last.Time())
		}
	}
	for _, m := range others {
		if m.s.ended() && m.s.callID != "" {
			continue
		}
		if id := p.calls.Member(m.owner, m.s.first.Time(), m.s.last.Time()); id != "" {
			m.s.callID = id
		}
	}
}

func earlier(a, b *stream) bool {
	if a.first != b.first {
		return a.first < b.first
	}
	return a.id < b.id
}

// browser says whether an owner is a browser: browsers ignore the QoS port
// ranges, so their ephemeral ports there say nothing.
func browser(k teams.ProcessKind) bool {
	return k == teams.ProcessBrowser || k == teams.ProcessBrowserApp
}
