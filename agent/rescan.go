package agent

import (
	"sync"
	"time"

	"github.com/teamsflow/teamsflow/agent/sockets"
)

// Sockets whose owner exits while they live on (forked children, passed
// descriptors) are given the process that holds them now. The classifier
// finds a new sender by itself (tf_owner_sender); a socket the new holder
// only receives on would otherwise name the dead process for good.

// rescanDelay: the exit tracepoint fires before the process's files are
// closed, so its own sockets close (and say so) just after; what is still
// open a while later is held by another process. Rescans wait this long
// and take every exit meanwhile at once, with one pass over the sockets.
const rescanDelay = time.Second

// rescanner holds the exits since the last rescan.
type rescanner struct {
	mu     sync.Mutex
	exited map[uint32]uint64 // tgid -> start, ns since boot
	timer  *time.Timer
}

// ownerExited notes a process's exit for the next rescan.
func (a *Agent) ownerExited(tgid uint32, startNs uint64) {
	r := &a.rescans
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exited == nil {
		r.exited = map[uint32]uint64{}
	}
	r.exited[tgid] = startNs
	if r.timer == nil {
		r.timer = time.AfterFunc(rescanDelay, a.rescan)
	}
}

// rescan gives each socket still open whose owner exited the process that
// holds it now. /proc is read only when there is such a socket: nearly
// every exiting process's sockets close with it.
func (a *Agent) rescan() {
	r := &a.rescans
	r.mu.Lock()
	exited := r.exited
	r.exited, r.timer = nil, nil
	r.mu.Unlock()
	select {
	case <-a.stop:
		return
	default:
	}
	orphans := a.table.OpenOwnedBy(exited)
	if len(orphans) == 0 {
		return
	}
	inodes := sockets.Inodes()
	n := 0
	for _, p := range a.cfg.Netns {
		socks, err := sockets.List(p, inodes)
		if err != nil {
			a.log.Warn().Err(err).Str("netns", nsName(p)).Msg("rescan of sockets whose owner exited")
			continue
		}
		for _, s := range socks {
			dead, ok := orphans[s.Cookie]
			if !ok || s.PID == 0 {
				continue
			}
			if info, ok := a.procs.LookupPID(s.PID); ok && a.table.Reown(s.Cookie, dead, ownerFromProc(info)) {
				n++
			}
		}
	}
	a.log.Debug().Int("sockets", len(orphans)).Int("reowned", n).Msg("rescanned sockets whose owner exited")
}
