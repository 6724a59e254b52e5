package scenario

import (
	"fmt"
	"time"
)

// Default addresses of the far ends. They are assigned to the cloud
// namespace's veth, so public-looking addresses never leave the sandbox.
const (
	DefaultTeamsPeer = "52.112.65.10"  // a media processor in 52.112.0.0/14
	DefaultP2PPeer   = "198.51.100.20" // the other participant's public address
	DefaultZoomPeer  = "170.114.10.20" // a Zoom media server, not Microsoft
	DefaultDuration  = 5 * time.Second
)

// payloadTypes are the dynamic payload types each client family uses:
// the desktop client's SILK/H264 UC numbering, the browsers' WebRTC
// numbering and, for the negative, Zoom-like numbers.
var payloadTypes = map[string]map[string]int{
	"desktop": {KindAudio: 104, KindVideo: 122, KindScreenshare: 123},
	"web":     {KindAudio: 111, KindVideo: 107, KindScreenshare: 127},
	"zoom":    {KindAudio: 112, KindVideo: 98, KindScreenshare: 99},
}

// codecs names the codec behind a payload type in the ground truth.
var codecs = map[int]string{
	104: "SILK", 111: "opus", 112: "opus", PayloadTypeCN: "CN",
	122: "H264-UC", 107: "H264", 98: "H264",
	123: "H264-screenshare", 127: "H264-screenshare", 99: "H264-screenshare",
}

// Codec names the codec of a payload type, or "" when unknown.
func Codec(pt int) string { return codecs[pt] }

func family(client string) string {
	switch {
	case client == ClientZoom:
		return "zoom"
	case client == ClientMSTeams:
		return "desktop"
	}
	return "web"
}

// ApplyDefaults fills every field left empty so that later stages never
// guess. It runs after validation of the user's values.
func (s *Scenario) ApplyDefaults() {
	if s.Call.Duration == 0 {
		s.Call.Duration = DefaultDuration
	}
	calls := s.AllCalls()
	for i := range calls {
		c := &calls[i]
		if c.ID == "" {
			c.ID = fmt.Sprintf("call-%d", i+1)
		}
		if c.Duration == 0 {
			c.Duration = s.Call.Duration
		}
		if c.WebApp == "" && IsBrowser(c.Client) {
			c.WebApp = "url"
		}
		if c.Peer == "" {
			c.Peer = defaultPeer(c)
		}
		for j := range c.Streams {
			c.Streams[j].applyDefaults(c)
		}
	}
	if len(s.Calls) > 0 {
		s.Calls = calls
	} else {
		s.Call = calls[0]
	}
}

func defaultPeer(c *Call) string {
	switch {
	case c.Client == ClientZoom:
		return DefaultZoomPeer
	case c.Mode == ModeP2P:
		return DefaultP2PPeer
	}
	return DefaultTeamsPeer
}

func (st *Stream) applyDefaults(c *Call) {
	if st.PayloadType == nil {
		pt := payloadTypes[family(c.Client)][st.Kind]
		st.PayloadType = &pt
	}
	if st.Duration == 0 {
		st.Duration = c.Duration - st.Start
	}
	if st.MaxPacket == 0 {
		st.MaxPacket = 1200
	}
	st.pauseDefaults()
	switch st.Kind {
	case KindAudio:
		setIfZeroF(&st.PacketRate, 50)
		setIfZero(&st.SizeMin, 90)
		setIfZero(&st.SizeMax, 160)
	case KindVideo:
		setIfZeroF(&st.FPS, 30)
		setIfZero(&st.BitrateKbps, 1000)
		if st.Keyframe == 0 {
			st.Keyframe = 3 * time.Second
		}
	case KindScreenshare:
		setIfZeroF(&st.FPS, 5)
		setIfZero(&st.BitrateKbps, 250)
		if st.ChangeEvery == 0 {
			st.ChangeEvery = 2 * time.Second
		}
		if st.Active == 0 {
			st.Active = 800 * time.Millisecond
		}
	}
}

func setIfZero(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func setIfZeroF(v *float64, d float64) {
	if *v == 0 {
		*v = d
	}
}
