package analysis

import (
	"net/netip"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// flowKey is a flow's observe.FlowID as the pipeline keeps it, one per
// flow in its state and in the map of flows: 48 bytes without pointers
// where a FlowID takes 80 with two (each netip.Addr carries one), so the
// collector need not look through the map's keys either. Observations
// never carry an IPv6 zone (the kernel's flow keys and packets have
// none), the one part of a FlowID it leaves out.
type flowKey struct {
	netns        uint64
	local, peer  [16]byte
	lport, pport uint16
	transport    uint8
	// kinds: two bits an address (local's low): keyAbsent, keyV4, keyV6.
	kinds uint8
}

// The kind of address a flowKey holds, two bits each.
const (
	keyAbsent = 0 // the zero netip.Addr
	keyV4     = 1
	keyV6     = 2 // IPv6, IPv4-mapped ones too
)

func keyOf(id observe.FlowID) flowKey {
	l, p := id.Local.Addr(), id.Peer.Addr()
	return flowKey{netns: id.Netns, local: l.As16(), peer: p.As16(), lport: id.Local.Port(), pport: id.Peer.Port(),
		transport: id.Transport, kinds: addrKind(l) | addrKind(p)<<2}
}

func addrKind(a netip.Addr) uint8 {
	switch {
	case !a.IsValid():
		return keyAbsent
	case a.Is4():
		return keyV4
	}
	return keyV6
}

// id is the FlowID again.
func (k flowKey) id() observe.FlowID {
	return observe.FlowID{Netns: k.netns, Transport: k.transport,
		Local: netip.AddrPortFrom(keyAddr(k.local, k.kinds&3), k.lport),
		Peer:  k.peerAddrPort()}
}

// peerAddrPort is id().Peer without the rest.
func (k flowKey) peerAddrPort() netip.AddrPort {
	return netip.AddrPortFrom(keyAddr(k.peer, k.kinds>>2&3), k.pport)
}

func keyAddr(b [16]byte, kind uint8) netip.Addr {
	switch kind {
	case keyV4:
		return netip.AddrFrom4([4]byte(b[12:]))
	case keyV6:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// flowMap holds the pipeline's flows by their compact key.
type flowMap map[flowKey]*flowState

// get returns the state of a flow, nil if none.
func (m flowMap) get(id observe.FlowID) *flowState { return m[keyOf(id)] }
