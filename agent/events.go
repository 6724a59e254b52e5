package agent

import (
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/agent/sockets"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// applyEvent decodes one ring-buffer record from the event queue and
// applies it.
func (a *Agent) applyEvent(raw []byte) {
	ev, err := kernel.Decode(raw)
	if err != nil {
		a.badEvent(err)
		return
	}
	a.handleEvent(ev)
}

// handleEvent applies one kernel event to the flow table and process cache.
func (a *Agent) handleEvent(ev any) {
	switch e := ev.(type) {
	case *bpf.SockEvent:
		a.handleSock(e)
	case *bpf.ProcEvent:
		a.handleProc(e)
	case *contract.Sample:
		a.media.addSample(e)
	}
}

func (a *Agent) handleSock(e *bpf.SockEvent) {
	switch contract.EventType(e.Type) {
	case contract.EvSockOpen, contract.EvSockOwner:
		a.table.SocketOwner(e.Cookie, e.Owner)
		a.learnProcess(e.Owner)
	case contract.EvTCPEstab:
		a.table.SocketOwner(e.Cookie, e.Owner)
		local, peer := eventAddrs(e)
		a.table.SocketTuple(e.NetnsCookie, e.Protocol, local, peer, e.Cookie)
	case contract.EvSockClose:
		a.table.SocketOwner(e.Cookie, e.Owner)
		a.table.SocketClosed(e.Cookie, a.clock.Wall(e.TsNs))
	}
}

// learnProcess reads a socket owner's details while it is surely alive:
// a short-lived process may be gone by the time its flows are printed.
func (a *Agent) learnProcess(o bpf.Owner) {
	if o.Tgid != 0 {
		a.procs.Lookup(proc.KeyFromBootNs(o.Tgid, o.StartNs))
	}
}

func (a *Agent) handleProc(e *bpf.ProcEvent) {
	key := proc.KeyFromBootNs(e.Tgid, e.StartNs)
	switch contract.EventType(e.Type) {
	case contract.EvProcExec:
		args := make([]byte, min(int(e.ArgsLen), len(e.Args)))
		for i := range args {
			args[i] = byte(e.Args[i])
		}
		a.procs.ExecEvent(proc.ExecEvent{Key: key, PPID: e.Ppid, UID: e.Uid, Comm: contract.CString(e.Comm[:]),
			Filename: contract.CString(e.Filename[:]), Cmdline: proc.SplitArgs(args)})
	case contract.EvProcExit:
		a.procs.Exit(key, a.clock.Wall(e.TsNs))
		a.ownerExited(e.Tgid, e.StartNs)
	}
}

func (a *Agent) badEvent(err error) {
	if a.badEvts.Add(1) == 1 {
		a.log.Warn().Err(err).Msg("undecodable kernel event (further ones are only counted)")
	}
}

func eventAddrs(e *bpf.SockEvent) (local, peer netip.AddrPort) {
	ipv4 := e.Family == 2 // AF_INET
	return contract.AddrPort(ipv4, e.LocalAddr, e.LocalPort), contract.AddrPort(ipv4, e.PeerAddr, e.PeerPort)
}

// backfill gives owners to the sockets that existed before the agent.
func (a *Agent) backfill(paths []string) {
	start := time.Now()
	inodes := sockets.Inodes()
	n := 0
	for _, p := range paths {
		socks, err := sockets.List(p, inodes)
		if err != nil {
			a.log.Warn().Err(err).Str("netns", nsName(p)).Msg("backfill of existing sockets")
			continue
		}
		for _, s := range socks {
			a.table.SocketTuple(s.NetnsCookie, s.Protocol, s.Local, s.Peer, s.Cookie)
			if s.PID == 0 {
				continue
			}
			if info, ok := a.procs.LookupPID(s.PID); ok {
				a.table.Backfill(s.Cookie, ownerFromProc(info))
				n++
			}
		}
	}
	a.log.Debug().Int("sockets", n).Dur("took", time.Since(start)).Msg("backfilled existing sockets")
}
