//go:build linux

package main

import (
	"net/netip"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/netif/links"
	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/sockets"
)

// Refresh periods of the live paths. One sock_diag read of 1000 TCP
// sockets' tcp_info took 8.6 ms here (agent/sockets TestTCPRTTReadCost),
// too much for every one-second poll of a busy host; the kernel's smoothed
// RTT moves slowly, so every 5 s is fresh enough, and only while records of
// TCP flows are asked for (Teams signalling, or every app's). Interfaces are read again
// when a flow names one not known yet, at most every kindsEvery.
const (
	rttEvery   = 5 * time.Second
	kindsEvery = 10 * time.Second
)

// livePaths answers the analysis' analysis.Paths from the running agent:
// the kernel's TCP round trips (sock_diag tcp_info of every watched
// namespace, joined to flows by socket cookie, by address where the flow
// has none) and the kind of the interface each flow was seen on.
type livePaths struct {
	agent *agent.Agent
	log   zerolog.Logger
	ns    map[uint64]string // namespace cookie -> path ("" the agent's own)

	mu         sync.Mutex
	rtts       map[uint64]sockets.TCPRTT  // by socket cookie
	byTuple    map[rttTuple]time.Duration // the same, by namespace and addresses
	ifaces     map[uint64]map[int]links.Interface
	rttAt      time.Time
	rttAsked   bool // a TCP round trip was asked for since the last read
	kindsAt    time.Time
	kindsStale bool
	warned     map[string]bool // namespaces whose read failed, logged once
}

type rttTuple struct {
	netns       uint64
	local, peer netip.AddrPort
}

// newLivePaths learns the cookies of the namespaces the agent watches.
func newLivePaths(a *agent.Agent, nsPaths []string, log zerolog.Logger) *livePaths {
	lp := &livePaths{agent: a, log: log, ns: map[uint64]string{}, warned: map[string]bool{}, kindsStale: true}
	for _, p := range nsPaths {
		var cookie uint64
		err := netns.Do(p, func() (err error) { cookie, err = sockets.NetnsCookie(); return err })
		if err != nil {
			log.Warn().Err(err).Str("netns", p).Msg("no round trips or interface kinds for this namespace")
			continue
		}
		lp.ns[cookie] = p
	}
	return lp
}

// refresh reads the round trips and interfaces again when due.
func (lp *livePaths) refresh(now time.Time) {
	lp.mu.Lock()
	// A host without Teams (and no one asking for every app's records)
	// asks for no TCP round trip: it pays for no read.
	rttDue := lp.rttAsked && now.Sub(lp.rttAt) >= rttEvery
	kindsDue := lp.kindsStale && now.Sub(lp.kindsAt) >= kindsEvery
	lp.mu.Unlock()
	if rttDue {
		lp.readRTTs(now)
	}
	if kindsDue {
		lp.readKinds(now)
	}
}

func (lp *livePaths) readRTTs(now time.Time) {
	paths := make([]string, 0, len(lp.ns))
	for _, p := range lp.ns {
		paths = append(paths, p)
	}
	rtts, err := sockets.TCPRTTsByCookie(paths)
	if err != nil {
		lp.warnOnce("rtt", err)
	}
	byTuple := make(map[rttTuple]time.Duration, len(rtts))
	for _, r := range rtts {
		byTuple[rttTuple{r.NetnsCookie, unmap(r.Local), unmap(r.Peer)}] = r.RTT
	}
	lp.mu.Lock()
	lp.rtts, lp.byTuple, lp.rttAt, lp.rttAsked = rtts, byTuple, now, false
	lp.mu.Unlock()
}

func (lp *livePaths) readKinds(now time.Time) {
	ifaces := map[uint64]map[int]links.Interface{}
	for cookie, p := range lp.ns {
		ifs, err := links.Gather(p)
		if err != nil {
			lp.warnOnce("interfaces "+p, err)
			continue
		}
		ifaces[cookie] = ifs
	}
	lp.mu.Lock()
	lp.ifaces, lp.kindsAt, lp.kindsStale = ifaces, now, false
	lp.mu.Unlock()
}

func (lp *livePaths) warnOnce(what string, err error) {
	lp.mu.Lock()
	first := !lp.warned[what]
	lp.warned[what] = true
	lp.mu.Unlock()
	if first {
		lp.log.Warn().Err(err).Msg("reading " + what + " (logged once)")
	}
}

// TCPRTT is the kernel's smoothed round trip of the flow's socket.
func (lp *livePaths) TCPRTT(id observe.FlowID) (time.Duration, bool) {
	fp, ok := lp.agent.FlowPath(id)
	lp.mu.Lock()
	defer lp.mu.Unlock()
	lp.rttAsked = true
	if ok && fp.Cookie != 0 {
		if r, ok := lp.rtts[fp.Cookie]; ok {
			return r.RTT, true
		}
	}
	d, ok := lp.byTuple[rttTuple{id.Netns, unmap(id.Local), unmap(id.Peer)}]
	return d, ok
}

// InterfaceKind is the kind of the interface the classifier saw the flow
// on; an interface not read yet makes the next refresh read them.
func (lp *livePaths) InterfaceKind(id observe.FlowID) string {
	fp, ok := lp.agent.FlowPath(id)
	if !ok || fp.Ifindex == 0 {
		return ""
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	i, known := lp.ifaces[id.Netns][int(fp.Ifindex)]
	if !known {
		lp.kindsStale = true
		return ""
	}
	return i.Kind
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
