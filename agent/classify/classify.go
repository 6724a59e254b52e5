// Package classify gives each stream one label (signalling, stun, turn,
// dtls, audio, video, screenshare, rtcp, dns, other) with the reason that
// decided it and a confidence. Reasons, strongest first: qos_port (client
// source port in an admin QoS range), rtp_pt (a codec's payload type),
// relay_port (3479/3480/3481 of a Teams relay), rate (packet rate, sizes,
// frames, idle gaps), protocol (STUN, TURN, DTLS, DNS, TLS).
package classify

import (
	"github.com/teamsflow/teamsflow/agent/names"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
)

// Reasons, strongest first.
const (
	ReasonQoSPort   = "qos_port"
	ReasonRTPPT     = "rtp_pt"
	ReasonRelayPort = "relay_port"
	ReasonRate      = "rate"
	ReasonProtocol  = "protocol"
	ReasonNone      = "none"
)

// Result is a label with its reason and confidence (0..1).
type Result struct {
	Label      string
	Reason     string
	Confidence float64
}

// IsMedia says whether a label is audio, video or screen share.
func IsMedia(label string) bool {
	return label == record.LabelAudio || label == record.LabelVideo || label == record.LabelScreenshare
}

// QoSPorts are the client source port ranges an admin's Teams QoS policy
// assigns.
type QoSPorts struct {
	Audio, Video, Screenshare names.PortRange
}

// DefaultQoSPorts are Microsoft's recommended ranges.
func DefaultQoSPorts() QoSPorts {
	return QoSPorts{Audio: names.PortRange{First: 50000, Last: 50019},
		Video: names.PortRange{First: 50020, Last: 50039}, Screenshare: names.PortRange{First: 50040, Last: 50059}}
}

// Label returns the media label of a source port, or "".
func (q QoSPorts) Label(port uint16) string {
	switch {
	case q.Audio.Contains(port):
		return record.LabelAudio
	case q.Video.Contains(port):
		return record.LabelVideo
	case q.Screenshare.Contains(port):
		return record.LabelScreenshare
	}
	return ""
}

// relayPortLabels are the Teams relay ports meant per media kind. Microsoft
// documents exceptions, so they rank below the QoS port and the codec.
var relayPortLabels = map[uint16]string{3479: record.LabelAudio, 3480: record.LabelVideo, 3481: record.LabelScreenshare}

// audioPayloadTypes are payload types that name an audio codec: the static
// RFC 3551 audio types, Teams' SILK (103 narrow-band, 104 wide-band) and
// 111, which every WebRTC stack (Chrome, Edge, Firefox, Electron) assigns
// to Opus. Dynamic video types are left out on purpose: the same codec
// carries camera video and screen share.
var audioPayloadTypes = map[uint8]string{
	0: "PCMU", 3: "GSM", 4: "G723", 8: "PCMA", 9: "G722", 18: "G729",
	103: "SILK/8000", 104: "SILK/16000", 111: "opus",
}

// Media is what is known about one RTP stream (one SSRC in one direction).
type Media struct {
	Teams       bool // the stream's app is Teams: QoS ports only apply to it
	Browser     bool // its owner is a browser, which ignores the QoS port ranges
	LocalPort   uint16
	PeerPort    uint16
	TeamsRelay  bool  // the peer is a Teams relay
	PayloadType uint8 // the stream's main payload type
	Features    Features
	Prev        string // the settled label, if any (Settler.Settled): thresholds keep a band around it
}

// Classifier labels streams with a QoS port configuration.
type Classifier struct{ QoS QoSPorts }

// New makes a classifier.
func New(qos QoSPorts) *Classifier { return &Classifier{QoS: qos} }

// Media labels an RTP stream.
func (c *Classifier) Media(m Media) Result {
	if l := c.QoS.Label(m.LocalPort); m.Teams && !m.Browser && l != "" {
		return Result{l, ReasonQoSPort, 0.95}
	}
	if _, ok := audioPayloadTypes[m.PayloadType]; ok && plausibleAudio(m.Features) {
		return Result{record.LabelAudio, ReasonRTPPT, 0.9}
	}
	if l := relayPortLabels[m.PeerPort]; m.TeamsRelay && l != "" {
		return Result{l, ReasonRelayPort, 0.8}
	}
	if r, ok := Rate(m.Features, m.Prev); ok {
		return r
	}
	return Result{record.LabelOther, ReasonNone, 0.1}
}

// plausibleAudio keeps a payload type from overruling packets that are
// plainly not audio (another app reusing the number for video): a known
// clock must be an audio clock, and without one the sizes and marker bits
// must fit audio. A packet or two never carry a codec's word.
func plausibleAudio(f Features) bool {
	if f.Packets < minPacketsToGuess {
		return false
	}
	if f.Clock > 0 {
		return f.Clock <= audioMaxClock
	}
	return f.MeanPayload <= 2*audioMaxPayload && (f.MarkerRatio < audioMaxMarkers || f.FramesPerSec < 8)
}

// Flow is what is known about a flow as a whole.
type Flow struct {
	Transport uint8
	LocalPort uint16
	PeerPort  uint16
	Protos    observe.Protocols
	HasRTP    bool // RTP streams ride on it (they are labelled on their own)
	Teams     bool // the flow's app is Teams
	Browser   bool // its owner is a browser, which ignores the QoS port ranges
	TeamsPeer bool // the peer is a Teams name or range
	// AppMedia: the owner is a known non-browser app that also carries
	// media (another conferencing app): its TLS is its signalling.
	AppMedia bool
	Features Features
}
