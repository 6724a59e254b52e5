package agent

import (
	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/bpf"
)

// FlowPath returns where a flow the agent tracks runs: its socket cookie
// and the index of the interface the classifier saw it on. The analysis
// joins it with what the kernel's counters do not carry: the TCP round
// trip of the socket (sock_diag, by cookie) and the interface's kind.
func (a *Agent) FlowPath(id observe.FlowID) (flow.Path, bool) {
	return a.table.Path(flowKeyOf(id))
}

// flowKeyOf is observe.FlowIDOf undone: IPv4 addresses sit in the first
// four bytes of the kernel key.
func flowKeyOf(id observe.FlowID) bpf.FlowKey {
	k := bpf.FlowKey{Netns: id.Netns, Protocol: id.Transport, Family: 6,
		LocalPort: id.Local.Port(), PeerPort: id.Peer.Port()}
	local, peer := id.Local.Addr(), id.Peer.Addr()
	if local.Is4() {
		k.Family = 4
		l4, p4 := local.As4(), peer.Unmap().As4()
		copy(k.LocalAddr[:], l4[:])
		copy(k.PeerAddr[:], p4[:])
		return k
	}
	k.LocalAddr, k.PeerAddr = local.As16(), peer.As16()
	return k
}
