package classify

import (
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
)

// Flow labels a flow. A flow that carries RTP streams is labelled by what
// else it carries (ICE, TURN, DTLS): its media has records of its own.
func (c *Classifier) Flow(f Flow) Result {
	if f.PeerPort == 53 || f.LocalPort == 53 || f.Protos&observe.ProtoDNS != 0 {
		return Result{record.LabelDNS, ReasonProtocol, 0.95}
	}
	if f.Transport == observe.TCP {
		return tcpFlow(f)
	}
	relay := f.TeamsPeer && f.PeerPort >= 3478 && f.PeerPort <= 3481
	if l := c.QoS.Label(f.LocalPort); l != "" && f.Teams && !f.Browser && !f.HasRTP && !relay && carriesMedia(f.Protos) {
		// A media socket whose SRTP is not visible (yet) but whose RTCP is.
		// To a relay the flow is the relay conversation: its media, when
		// visible, has records of its own.
		return Result{l, ReasonQoSPort, 0.9}
	}
	if r, ok := handshake(f); ok {
		return r
	}
	if f.HasRTP {
		return Result{} // nothing but media: no flow record of its own
	}
	if f.Protos&observe.ProtoRTCP != 0 {
		return Result{record.LabelRTCP, ReasonProtocol, 0.9}
	}
	if relay {
		// The relay speaks framings the parser may not know; the port says relay.
		return Result{record.LabelTURN, ReasonRelayPort, 0.5}
	}
	if r, ok := Rate(f.Features, ""); ok {
		r.Confidence -= 0.15 // flow counters mix everything the flow carries
		return r
	}
	return Result{record.LabelOther, ReasonNone, 0.2}
}

func carriesMedia(p observe.Protocols) bool {
	return p&(observe.ProtoRTCP|observe.ProtoRTP|observe.ProtoChannelData) != 0
}

// handshake labels the ICE/TURN/DTLS part of a UDP flow.
func handshake(f Flow) (Result, bool) {
	switch {
	case f.Protos&(observe.ProtoMSTURN|observe.ProtoChannelData|observe.ProtoTURN) != 0:
		return Result{record.LabelTURN, ReasonProtocol, 0.95}, true
	case f.Protos&observe.ProtoSTUN != 0:
		return Result{record.LabelSTUN, ReasonProtocol, 0.95}, true
	case f.Protos&observe.ProtoDTLS != 0:
		return Result{record.LabelDTLS, ReasonProtocol, 0.9}, true
	}
	return Result{}, false
}

func tcpFlow(f Flow) Result {
	switch {
	case f.TeamsPeer && f.Protos&observe.ProtoTLS != 0:
		return Result{record.LabelSignalling, ReasonProtocol, 0.9}
	case f.TeamsPeer && (f.PeerPort == 443 || f.PeerPort == 80):
		return Result{record.LabelSignalling, ReasonProtocol, 0.7}
	case f.AppMedia && !f.Teams && f.Protos&observe.ProtoTLS != 0:
		return Result{record.LabelSignalling, ReasonProtocol, 0.5}
	case f.Protos&(observe.ProtoSTUN|observe.ProtoMSTURN) != 0:
		return Result{record.LabelTURN, ReasonProtocol, 0.8} // TURN over TCP when UDP is blocked
	}
	return Result{record.LabelOther, ReasonProtocol, 0.5}
}
