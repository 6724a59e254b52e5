package plan

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/topo"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// TURN credentials of the simulated relay (long-term mechanism).
const (
	TURNUser  = "tfsim"
	TURNPass  = "tfsim-secret"
	TURNRealm = "teams.microsoft.com"
)

// qosPorts and qosDSCP are the admin-configured Teams QoS settings.
var (
	qosPorts = map[string]int{scenario.KindAudio: 50000, scenario.KindVideo: 50020, scenario.KindScreenshare: 50040}
	qosDSCP  = map[string]int{scenario.KindAudio: 46, scenario.KindVideo: 34, scenario.KindScreenshare: 18}
	// Media processor and relay ports per kind (3478 when bundled).
	serverPorts = map[string]int{scenario.KindAudio: 3479, scenario.KindVideo: 3480, scenario.KindScreenshare: 3481}
	// The other participant's desktop client sends from its QoS ports.
	p2pPorts = map[string]int{scenario.KindAudio: 50002, scenario.KindVideo: 50022, scenario.KindScreenshare: 50042}
)

// Unanswered ICE candidates: other media processors, and for p2p the
// other participant's second interface.
var (
	teamsSilentCandidates = []string{"52.113.10.20:3478", "13.107.64.30:3478"}
	p2pSilentCandidates   = []string{"198.51.100.21:50002"}
)

// Build turns a scenario (defaults applied) into one plan per call.
// A non-zero duration overrides every call's duration.
func Build(s *scenario.Scenario, duration time.Duration, caPEM string) ([]Call, error) {
	var out []Call
	for _, c := range s.AllCalls() {
		if duration > 0 {
			for i := range c.Streams {
				c.Streams[i].Duration = stretch(c.Streams[i], c.Duration, duration)
			}
			c.Duration = duration
		}
		p, err := buildCall(c, caPEM)
		if err != nil {
			return nil, fmt.Errorf("planning call %s: %w", c.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// stretch is a stream's duration when its call lasts d instead of was: a
// stream that ran to the call's end still does; one that stopped earlier
// (camera off, a share stopped) keeps its end, cut at the call's.
func stretch(st scenario.Stream, was, d time.Duration) time.Duration {
	end := st.Start + st.Duration
	if end >= was {
		end = d
	}
	return max(min(end, d)-st.Start, 0)
}

func buildCall(c scenario.Call, caPEM string) (Call, error) {
	p := Call{
		ID: c.ID, Client: c.Client, Mode: c.Mode, App: "teams", WebApp: c.WebApp,
		Start: c.Start, Duration: c.Duration, DirectAfter: c.DirectAfter, Seed: randU64(), ClientIP: topo.ClientIP,
		DNSServer: topo.DNSServer, CAPEM: caPEM, KeepEvery: 1500 * time.Millisecond,
	}
	if c.Client == scenario.ClientZoom {
		p.App = ""
		p.Lookups = []string{"zoom.us", "us05web.zoom.us"}
		p.Requests = []Request{{"GET", "https://zoom.us/wc/join"}}
		p.Keepalive = &Request{"GET", "https://us05web.zoom.us/ping"}
	} else {
		p.Lookups = []string{"teams.microsoft.com", "api.cc.skype.com", "pipe.skype.com",
			"northeurope.msg.skype.com", "webdir.online.lync.com", "worldaz.relay.teams.microsoft.com"}
		p.Requests = []Request{
			{"GET", "https://teams.microsoft.com/v2/"},
			{"GET", "https://webdir.online.lync.com/autodiscover/autodiscoverservice.svc/root"},
			{"POST", "https://northeurope.msg.skype.com/v1/users/ME/endpoints"},
			{"POST", "https://api.cc.skype.com/cc/v1/forked/call"},
		}
		p.Keepalive = &Request{"GET", "https://pipe.skype.com/v4/f/trouter/ping"}
		p.Relay = &Relay{IP: topo.RelayIP, Port: 3478, Username: TURNUser, Password: TURNPass, Realm: TURNRealm}
	}
	trs, err := transports(c)
	if err != nil {
		return p, err
	}
	p.Transports = trs
	return p, nil
}

// transports lays the streams out on sockets: one per stream, or all on
// one for BUNDLE.
func transports(c scenario.Call) ([]Transport, error) {
	groups := [][]scenario.Stream{}
	if c.UsesBundle() {
		groups = append(groups, c.Streams)
	} else {
		for _, st := range c.Streams {
			groups = append(groups, []scenario.Stream{st})
		}
	}
	used := map[string]int{}
	var out []Transport
	for _, g := range groups {
		t := Transport{ICE: newICE(), Keys: newKeys()}
		kind := g[0].Kind
		if c.UsesQoSPorts() {
			base := qosPorts[kind] + used[kind]
			for port := base; port < qosPorts[kind]+20; port++ {
				t.Ports = append(t.Ports, port)
			}
			used[kind]++
			t.DSCP = qosDSCP[kind]
		}
		peerPort := peerPortFor(c, kind, g[0].PeerPort)
		t.Peer = netip.AddrPortFrom(netip.MustParseAddr(c.Peer), uint16(peerPort)).String()
		if c.Mode == scenario.ModeRelay {
			t.RelayPort = 3478
			if !c.UsesBundle() {
				t.RelayPort = serverPorts[kind]
			}
		}
		t.Candidates = candidates(c, t.Peer)
		for _, st := range g {
			t.Streams = append(t.Streams, newStream(st))
		}
		out = append(out, t)
	}
	return out, nil
}

func peerPortFor(c scenario.Call, kind string, override int) int {
	switch {
	case override != 0:
		return override
	case c.Client == scenario.ClientZoom:
		return 8801
	case c.Mode == scenario.ModeP2P:
		return p2pPorts[kind]
	case c.UsesBundle():
		return 3478
	}
	return serverPorts[kind]
}

func candidates(c scenario.Call, peer string) []string {
	if c.Client == scenario.ClientZoom {
		return nil
	}
	out := []string{peer}
	switch {
	case len(c.ICECandidates) > 0:
		out = append(out, c.ICECandidates...)
	case c.Mode == scenario.ModeP2P:
		out = append(out, p2pSilentCandidates...)
	case c.Mode != scenario.ModeRelay:
		out = append(out, teamsSilentCandidates...)
	}
	return out
}

func newStream(st scenario.Stream) Stream {
	s := Stream{Stream: st, SSRC: st.SSRC, PeerSSRC: uint32(randU64()), Seed: randU64()}
	if s.SSRC == 0 {
		s.SSRC = uint32(randU64())
	}
	s.PayloadType = *st.PayloadType
	s.Codec = scenario.Codec(s.PayloadType)
	return s
}

func newICE() ICE {
	return ICE{LocalUfrag: randHex(4), LocalPwd: randHex(12), RemoteUfrag: randHex(4), RemotePwd: randHex(12)}
}

func newKeys() Keys {
	return Keys{TxKey: randBytes(16), TxSalt: randBytes(14), RxKey: randBytes(16), RxSalt: randBytes(14)}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return b
}

func randU64() uint64 { return binary.BigEndian.Uint64(randBytes(8)) | 1 }

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

// PeerEndpoints lists the far ends the cloud namespace must serve:
// answering peers and silent (never answering) candidates.
func PeerEndpoints(calls []Call) (answer, silent []string) {
	seenA, seenS := map[string]bool{}, map[string]bool{}
	for _, c := range calls {
		for _, t := range c.Transports {
			if !seenA[t.Peer] {
				seenA[t.Peer] = true
				answer = append(answer, t.Peer)
			}
			for _, cand := range t.Candidates {
				if cand != t.Peer && !seenS[cand] {
					seenS[cand] = true
					silent = append(silent, cand)
				}
			}
		}
	}
	return answer, silent
}
