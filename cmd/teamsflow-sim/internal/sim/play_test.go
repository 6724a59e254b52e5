package sim

import (
	"bytes"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv/topo"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

var relayAddr = netip.MustParseAddr(topo.RelayIP)

func TestDesktopQoS(t *testing.T) {
	p := play(t, "desktop-qos", 50000)
	if p.owner.comm != "ms-teams" || base(p.owner.cmdline[0]) != "ms-teams" || !hasArg(p.owner.cmdline, "msteams:") {
		t.Errorf("audio socket owner: comm %q cmdline %q", p.owner.comm, p.owner.cmdline)
	}
	want := map[string]struct{ lo, dscp, pt int }{
		truth.LabelAudio: {50000, 46, 104}, truth.LabelVideo: {50020, 34, 122}, truth.LabelScreenshare: {50040, 18, 123},
	}
	for label, w := range want {
		streams := p.media(label)
		if len(streams) != 1 {
			t.Fatalf("%d %s streams in truth", len(streams), label)
		}
		s := streams[0]
		if s.LocalPort < w.lo || s.LocalPort >= w.lo+20 || s.DSCP != w.dscp {
			t.Errorf("%s: port %d dscp %d, want %d-%d dscp %d", label, s.LocalPort, s.DSCP, w.lo, w.lo+19, w.dscp)
		}
		if s.PID != p.owner.pid {
			t.Errorf("%s: truth pid %d, /proc owner %d", label, s.PID, p.owner.pid)
		}
		checkStream(t, p, s, w.pt)
	}
	checkICE(t, p, 3)
	checkSignalling(t, p)
}

// checkICE: every media socket checked `cands` addresses and gathered at
// the relay (STUN to 52.114.250.10:3478) before media.
func checkICE(t *testing.T, p *played, cands int) {
	t.Helper()
	perPort := map[int]map[netip.AddrPort]bool{}
	relayed := false
	for k, n := range p.w.stun {
		if k.peer.Addr() == relayAddr && k.peer.Port() == 3478 && n >= 2 {
			relayed = true
			continue
		}
		if perPort[k.localPort] == nil {
			perPort[k.localPort] = map[netip.AddrPort]bool{}
		}
		perPort[k.localPort][k.peer] = true
	}
	if !relayed {
		t.Error("no STUN/TURN exchange with the relay on 3478")
	}
	for _, s := range p.tf.Streams {
		if s.Label == truth.LabelAudio || s.Label == truth.LabelVideo || s.Label == truth.LabelScreenshare {
			if got := len(perPort[s.LocalPort]); got != cands {
				t.Errorf("%s socket :%d sent ICE checks to %d addresses, want %d", s.Label, s.LocalPort, got, cands)
			}
		}
	}
}

// checkSignalling: DNS answers carry the CNAME chains and the TLS
// ClientHellos carry the Teams names as SNI.
func checkSignalling(t *testing.T, p *played) {
	t.Helper()
	chain := map[string]string{}
	for _, d := range p.w.dns {
		for _, a := range d.Answers {
			if len(a.CNAME) > 0 {
				chain[string(a.Name)] = string(a.CNAME)
			}
		}
	}
	if !strings.HasSuffix(chain["api.cc.skype.com"], "trafficmanager.net") ||
		!strings.HasSuffix(chain[chain["api.cc.skype.com"]], "cloudapp.net") ||
		!strings.HasSuffix(chain["teams.microsoft.com"], "s-msedge.net") {
		t.Errorf("CNAME chains on the wire: %v", chain)
	}
	for _, s := range p.media(truth.LabelSignalling) {
		k := flowKey{s.LocalPort, netip.AddrPortFrom(netip.MustParseAddr(s.PeerAddr), uint16(s.PeerPort))}
		hello := p.w.tcp[k]
		if len(hello) == 0 || hello[0] != 0x16 || !bytes.Contains(hello, []byte(s.ServerName)) {
			t.Errorf("signalling %v to %s: no TLS ClientHello with that SNI", k, s.ServerName)
		}
	}
	if len(p.media(truth.LabelSignalling)) < 5 {
		t.Errorf("%d signalling connections, want 5", len(p.media(truth.LabelSignalling)))
	}
}

func TestDesktopNoQoS(t *testing.T) {
	p := play(t, "desktop-noqos", 0)
	if p.owner.comm != "teams-for-linux" || !hasArg(p.owner.cmdline, "--utility-sub-type=network.mojom.NetworkService") {
		t.Errorf("media socket owner: comm %q cmdline %q", p.owner.comm, p.owner.cmdline)
	}
	if base(p.owner.parentCmdline[0]) != "teams-for-linux" || hasArg(p.owner.parentCmdline, "--type=") {
		t.Errorf("owner's parent cmdline %q, want the teams-for-linux main process", p.owner.parentCmdline)
	}
	for _, label := range []string{truth.LabelAudio, truth.LabelVideo} {
		for _, s := range p.media(label) {
			if s.LocalPort >= 50000 && s.LocalPort < 50060 || s.DSCP != 0 {
				t.Errorf("%s: port %d dscp %d, want random port and no DSCP", label, s.LocalPort, s.DSCP)
			}
			checkStream(t, p, s, map[string]int{truth.LabelAudio: 111, truth.LabelVideo: 107}[label])
		}
	}
	checkICE(t, p, 3)
}

func TestBrowserBundle(t *testing.T) {
	p := play(t, "browser-bundle", 0)
	if p.owner.comm != "chrome" || !hasArg(p.owner.cmdline, "--type=utility") ||
		!hasArg(p.owner.parentCmdline, "--app=https://teams.microsoft.com/v2/") {
		t.Errorf("owner comm %q cmdline %q parent %q", p.owner.comm, p.owner.cmdline, p.owner.parentCmdline)
	}
	if len(p.w.rtp) != 1 {
		t.Fatalf("RTP on %d 5-tuples, want 1 (BUNDLE): %v", len(p.w.rtp), p.w.rtp)
	}
	for k, ssrcs := range p.w.rtp {
		if len(ssrcs) != 3 || k.peer.Port() != 3478 {
			t.Errorf("bundle 5-tuple %v carries %d SSRCs, want 3 to port 3478", k, len(ssrcs))
		}
	}
	pts := map[string]int{truth.LabelAudio: 111, truth.LabelVideo: 107, truth.LabelScreenshare: 127}
	for label, pt := range pts {
		for _, s := range p.media(label) {
			checkStream(t, p, s, pt)
		}
	}
}

func TestRelayChannelData(t *testing.T) {
	p := play(t, "relay", 50000)
	ports := map[string]int{truth.LabelAudio: 3479, truth.LabelVideo: 3480, truth.LabelScreenshare: 3481}
	for label, port := range ports {
		for _, s := range p.media(label) {
			if !s.Relayed || s.PeerAddr != topo.RelayIP || s.PeerPort != port {
				t.Errorf("%s: peer %s:%d relayed=%v, want %s:%d", label, s.PeerAddr, s.PeerPort, s.Relayed, topo.RelayIP, port)
			}
			pkts := checkStream(t, p, s, map[string]int{truth.LabelAudio: 104, truth.LabelVideo: 122, truth.LabelScreenshare: 123}[label])
			framed := 0
			for _, x := range pkts {
				if x.channel {
					framed++
				}
			}
			// The first packets may go in Send indications while the
			// channel is being bound.
			if float64(framed) < 0.9*float64(len(pkts)) {
				t.Errorf("%s: %d of %d packets in ChannelData", label, framed, len(pkts))
			}
		}
	}
}

func TestPeerToPeer(t *testing.T) {
	p := play(t, "p2p", 0)
	for _, s := range append(p.media(truth.LabelAudio), p.media(truth.LabelVideo)...) {
		if s.PeerAddr != "198.51.100.20" || s.Relayed {
			t.Errorf("%s goes to %s (relayed %v), want the peer 198.51.100.20 directly", s.Label, s.PeerAddr, s.Relayed)
		}
		checkStream(t, p, s, map[string]int{truth.LabelAudio: 111, truth.LabelVideo: 107}[s.Label])
	}
	checkICE(t, p, 2)
}

// Microsoft's Teams ranges from DESIGN.md; the negative must avoid them.
var teamsRanges = []netip.Prefix{
	netip.MustParsePrefix("52.112.0.0/14"), netip.MustParsePrefix("13.107.64.0/18"),
	netip.MustParsePrefix("52.122.0.0/15"), netip.MustParsePrefix("2603:1063::/38"),
}

func TestZoomNegative(t *testing.T) {
	p := play(t, "zoom-negative", 0)
	if p.owner.comm != "zoom" {
		t.Errorf("owner comm %q, want zoom", p.owner.comm)
	}
	for dst := range p.w.dests {
		for _, r := range teamsRanges {
			if r.Contains(dst) {
				t.Errorf("zoom call sent to %s in Teams range %s", dst, r)
			}
		}
	}
	zoomNet := netip.MustParsePrefix("170.114.0.0/16")
	for _, s := range append(p.media(truth.LabelAudio), p.media(truth.LabelVideo)...) {
		if !zoomNet.Contains(netip.MustParseAddr(s.PeerAddr)) || s.App != "" {
			t.Errorf("%s to %s app %q, want 170.114.0.0/16 and no Teams app", s.Label, s.PeerAddr, s.App)
		}
		checkStream(t, p, s, map[string]int{truth.LabelAudio: 112, truth.LabelVideo: 98}[s.Label])
	}
	if len(p.w.stun) != 0 {
		t.Errorf("zoom call sent STUN: %v", p.w.stun)
	}
}

func TestImpairedAudio(t *testing.T) {
	p := play(t, "impaired-audio", 50000)
	s := p.media(truth.LabelAudio)[0]
	pkts := checkStream(t, p, s, 104)
	st := stats(pkts)
	// Skips before the first or after the last packet leave no gap on
	// the wire, so a few fewer gaps than skips are fine; more are not.
	if st.seqGaps > s.PacketsSkipped || st.seqGaps < s.PacketsSkipped-3 {
		t.Errorf("%d sequence numbers missing on the wire, truth says %d skipped", st.seqGaps, s.PacketsSkipped)
	}
	// The skips are random, with a new seed every run: ~200 packets at 5%
	// skip 10 ± 3. A count within 4.5 standard deviations of that is
	// right (a correct sender misses it about once in 100 000 runs); none
	// at all means the loss was not applied.
	n := float64(st.seqGaps + st.packets)
	want := n * s.InjectedLoss
	sd := math.Sqrt(want * (1 - s.InjectedLoss))
	if st.seqGaps == 0 || math.Abs(float64(st.seqGaps)-want) > 4.5*sd {
		t.Errorf("%d of %.0f packets lost on the wire, want about %.1f (%.0f%% injected)", st.seqGaps, n, want, 100*s.InjectedLoss)
	}
	if st.spacingStd.Milliseconds() < 5 {
		t.Errorf("packet spacing deviation %v, want jitter of several ms", st.spacingStd)
	}
}
