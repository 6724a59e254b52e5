package scenario

import (
	"fmt"

	"net/netip"
	"time"
)

// fieldErr is a validation failure at a YAML path such as
// "calls[0].streams[1].fps"; the loader adds file and line.
type fieldErr struct {
	path string
	msg  string
}

// sandboxNet is the client/cloud link; peers must not sit on it.
var sandboxNet = netip.MustParsePrefix("10.99.0.0/24")

// validate checks the values the user wrote, before defaults are applied,
// and returns every problem found.
func (s *Scenario) validate() []fieldErr {
	var errs []fieldErr
	add := func(path, format string, a ...any) {
		errs = append(errs, fieldErr{path, fmt.Sprintf(format, a...)})
	}
	if s.Call.Duration < 0 || s.Call.Duration > time.Hour {
		add("duration", "must be between 0s and 1h")
	}
	shorthand := s.Call.Client != "" || s.Call.Mode != "" || len(s.Call.Streams) > 0 ||
		s.Call.ID != "" || s.Call.Peer != ""
	switch {
	case len(s.Calls) > 0 && shorthand:
		add("calls", "use either calls or the single-call fields (client, mode, streams), not both")
	case len(s.Calls) == 0 && !shorthand:
		add("calls", "a scenario needs at least one call")
	case len(s.Calls) > 0:
		for i := range s.Calls {
			s.Calls[i].validate(fmt.Sprintf("calls[%d].", i), add)
		}
	default:
		s.Call.validate("", add)
	}
	return errs
}

type addFunc func(path, format string, a ...any)

func (c *Call) validate(prefix string, add addFunc) {
	switch c.Client {
	case ClientMSTeams, ClientTeamsForLinux, ClientChrome, ClientEdge, ClientZoom:
	default:
		add(prefix+"client", "must be one of ms-teams, teams-for-linux, chrome, msedge, zoom (got %q)", c.Client)
	}
	switch c.Mode {
	case ModeQoS, ModeNoQoS, ModeBundle, ModeRelay, ModeP2P:
	default:
		add(prefix+"mode", "must be one of qos, noqos, bundle, relay, p2p (got %q)", c.Mode)
	}
	if c.Client == ClientZoom && c.Mode != ModeNoQoS && c.Mode != ModeP2P {
		add(prefix+"mode", "zoom calls support noqos and p2p only")
	}
	if c.Start < 0 || c.Duration < 0 {
		add(prefix+"start", "start and duration must not be negative")
	}
	if c.WebApp != "" && (!IsBrowser(c.Client) || (c.WebApp != "url" && c.WebApp != "pwa")) {
		add(prefix+"web_app", "must be url or pwa, and only for chrome or msedge")
	}
	if c.Peer != "" {
		if msg := checkPeer(c.Peer); msg != "" {
			add(prefix+"peer", "%s", msg)
		}
	}
	for i, cand := range c.ICECandidates {
		if _, err := netip.ParseAddrPort(cand); err != nil {
			add(fmt.Sprintf("%sice_candidates[%d]", prefix, i), "must be IPv4ADDR:PORT (%v)", err)
		}
	}
	if c.DirectAfter != 0 && (c.Mode != ModeRelay || c.DirectAfter < 0) {
		add(prefix+"direct_after", "only applies to relay calls, and must be positive")
	}
	if len(c.Streams) == 0 {
		add(prefix+"streams", "a call needs at least one stream")
	}
	perKind := map[string]int{}
	for i := range c.Streams {
		p := fmt.Sprintf("%sstreams[%d].", prefix, i)
		c.Streams[i].validate(p, add)
		perKind[c.Streams[i].Kind]++
		if c.UsesQoSPorts() && perKind[c.Streams[i].Kind] > 20 {
			add(p+"kind", "at most 20 %s streams fit the QoS port range", c.Streams[i].Kind)
		}
	}
}

func checkPeer(s string) string {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return fmt.Sprintf("not an IP address: %v", err)
	case !a.Is4():
		return "must be an IPv4 address"
	case !a.IsGlobalUnicast() || sandboxNet.Contains(a):
		return "must be a unicast address outside " + sandboxNet.String()
	}
	return ""
}

func (st *Stream) validate(p string, add addFunc) {
	between := func(field string, v, lo, hi float64) {
		if v != 0 && (v < lo || v > hi) {
			add(p+field, "must be between %v and %v", lo, hi)
		}
	}
	only := func(field string, set bool, kinds ...string) {
		if !set {
			return
		}
		for _, k := range kinds {
			if st.Kind == k {
				return
			}
		}
		add(p+field, "only applies to %v streams", kinds)
	}
	switch st.Kind {
	case KindAudio, KindVideo, KindScreenshare:
	default:
		add(p+"kind", "must be audio, video or screenshare (got %q)", st.Kind)
	}
	if pt := st.PayloadType; pt != nil && (*pt < 0 || *pt > 127 || (*pt >= 64 && *pt <= 95)) {
		add(p+"payload_type", "must be 0-63 or 96-127 (64-95 collide with RTCP)")
	}
	if st.Start < 0 || st.Duration < 0 {
		add(p+"start", "start and duration must not be negative")
	}
	between("packet_rate", st.PacketRate, 1, 100)
	between("size_min", float64(st.SizeMin), 40, 1400)
	between("size_max", float64(st.SizeMax), 40, 1400)
	if st.SizeMax != 0 && st.SizeMin > st.SizeMax {
		add(p+"size_max", "must not be below size_min")
	}
	between("fps", st.FPS, 1, 60)
	between("bitrate_kbps", float64(st.BitrateKbps), 8, 10000)
	between("max_packet", float64(st.MaxPacket), 200, 1400)
	between("loss", st.Loss, 0, 0.5)
	if st.Loss < 0 {
		add(p+"loss", "must be between 0 and 0.5")
	}
	if st.Jitter < 0 || st.Jitter > 500*time.Millisecond {
		add(p+"jitter", "must be between 0s and 500ms")
	}
	between("peer_port", float64(st.PeerPort), 1, 65535)
	only("packet_rate", st.PacketRate != 0, KindAudio)
	only("size_min", st.SizeMin != 0, KindAudio)
	only("size_max", st.SizeMax != 0, KindAudio)
	only("fps", st.FPS != 0, KindVideo, KindScreenshare)
	only("bitrate_kbps", st.BitrateKbps != 0, KindVideo, KindScreenshare)
	only("keyframe_interval", st.Keyframe != 0, KindVideo)
	only("change_every", st.ChangeEvery != 0, KindScreenshare)
	only("active", st.Active != 0, KindScreenshare)
	st.validatePauses(p, add)
	if st.Kind == KindScreenshare && st.Active != 0 && st.ChangeEvery != 0 && st.Active > st.ChangeEvery {
		add(p+"active", "must not exceed change_every")
	}
}
