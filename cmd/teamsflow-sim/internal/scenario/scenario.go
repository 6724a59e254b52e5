// Package scenario describes the Teams calls the simulator plays: which
// client process, which media mode, which streams with which rates, sizes,
// loss and jitter. Scenarios are YAML files or built-ins selected by name.
package scenario

import "time"

// Client kinds: the process the simulated call runs in.
const (
	ClientMSTeams       = "ms-teams"
	ClientTeamsForLinux = "teams-for-linux"
	ClientChrome        = "chrome"
	ClientEdge          = "msedge"
	ClientZoom          = "zoom" // the non-Teams negative
)

// Media modes, as listed in the issue.
const (
	ModeQoS    = "qos"    // desktop, QoS source ports and DSCP
	ModeNoQoS  = "noqos"  // desktop, random ports, no DSCP
	ModeBundle = "bundle" // browser: every stream on one 5-tuple
	ModeRelay  = "relay"  // media in TURN ChannelData through the relay
	ModeP2P    = "p2p"    // media straight to the other participant
)

// Stream kinds.
const (
	KindAudio       = "audio"
	KindVideo       = "video"
	KindScreenshare = "screenshare"
)

// Scenario is one YAML document. A single call may be written with its
// fields at the top level (client, mode, streams) instead of under calls;
// with calls, a top-level duration is the default for every call.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Calls       []Call `yaml:"calls"`
	Call        `yaml:",inline"`
}

// Call is one call played by one client process (tree).
type Call struct {
	ID       string        `yaml:"id"`
	Client   string        `yaml:"client"`
	Mode     string        `yaml:"mode"`
	Start    time.Duration `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// WebApp picks how a browser opened Teams: "url" (--app=URL) or "pwa"
	// (--app-id=ID).
	WebApp string `yaml:"web_app"`
	// QoSPorts and Bundle choose the socket layout in relay and p2p mode;
	// the other modes imply them.
	QoSPorts *bool `yaml:"qos_ports"`
	Bundle   *bool `yaml:"bundle"`
	// Peer is the media peer's address (media processor, other
	// participant or, for zoom, a Zoom server).
	Peer string `yaml:"peer"`
	// ICECandidates are extra "addr:port" candidates checked before media
	// settles on the peer; nobody answers them.
	ICECandidates []string `yaml:"ice_candidates"`
	// DirectAfter (relay mode) moves the media off the relay onto the
	// direct path to the peer this long after media starts, from the
	// same sockets, as ICE does when a direct pair succeeds after media
	// began on the relayed one.
	DirectAfter time.Duration `yaml:"direct_after"`
	Streams     []Stream      `yaml:"streams"`
}

// Stream is one media stream of a call. Sizes are UDP payload bytes as an
// observer sees them (RTP header + SRTP payload + auth tag).
type Stream struct {
	Kind        string        `yaml:"kind"`
	PayloadType *int          `yaml:"payload_type"`
	SSRC        uint32        `yaml:"ssrc"`
	Start       time.Duration `yaml:"start"`
	Duration    time.Duration `yaml:"duration"`
	// Audio: packets per second (one frame per packet) and size range.
	PacketRate float64 `yaml:"packet_rate"`
	SizeMin    int     `yaml:"size_min"`
	SizeMax    int     `yaml:"size_max"`
	// Video and screen share.
	FPS         float64       `yaml:"fps"`
	BitrateKbps int           `yaml:"bitrate_kbps"`
	MaxPacket   int           `yaml:"max_packet"`
	Keyframe    time.Duration `yaml:"keyframe_interval"`
	// Screen share: a content change every ChangeEvery produces frames for
	// Active, then the stream is idle until the next change.
	ChangeEvery time.Duration `yaml:"change_every"`
	Active      time.Duration `yaml:"active"`
	// Impairments applied by the sender.
	Loss   float64       `yaml:"loss"`
	Jitter time.Duration `yaml:"jitter"`
	// PeerPort overrides the peer's port for this stream.
	PeerPort int `yaml:"peer_port"`
	// Pauses stop the stream's media for a while (camera off, silence,
	// static share), in order and not overlapping.
	Pauses []Pause `yaml:"pauses"`
}

// AllCalls returns the calls of the scenario, turning the single-call
// shorthand into a one-element list.
func (s *Scenario) AllCalls() []Call {
	if len(s.Calls) > 0 {
		return s.Calls
	}
	return []Call{s.Call}
}

// IsBrowser reports whether the client is a browser running the web app.
func IsBrowser(client string) bool { return client == ClientChrome || client == ClientEdge }

// UsesQoSPorts reports whether the call sends from the QoS port ranges.
func (c *Call) UsesQoSPorts() bool {
	switch c.Mode {
	case ModeQoS:
		return true
	case ModeRelay, ModeP2P:
		if c.QoSPorts != nil {
			return *c.QoSPorts
		}
		return !IsBrowser(c.Client) && c.Client != ClientZoom && !c.UsesBundle()
	}
	return false
}

// UsesBundle reports whether all streams share one socket.
func (c *Call) UsesBundle() bool {
	switch c.Mode {
	case ModeBundle:
		return true
	case ModeRelay, ModeP2P:
		if c.Bundle != nil {
			return *c.Bundle
		}
		return IsBrowser(c.Client)
	}
	return false
}
