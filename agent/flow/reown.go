package flow

// Owners that died while their sockets live on: a process that made a
// socket and handed it on (fork, then exit; a passed descriptor) leaves
// the socket's storage naming it until another process sends on the
// socket. The agent rescans /proc for such sockets when their owner exits
// (agent/rescan.go) and gives them the process that holds them now.

// OpenOwnedBy lists the open sockets whose owner is one of the exited
// processes (tgid -> start, ns since boot), with that owner's tgid.
func (t *Table) OpenOwnedBy(exited map[uint32]uint64) map[uint64]uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[uint64]uint32{}
	for cookie, s := range t.sockets {
		if s.Closed {
			continue
		}
		if s.owner == nil {
			continue
		}
		if start, ok := exited[s.owner.TGID]; ok && (s.owner.StartNs == start || s.owner.Source == "backfill") {
			out[cookie] = s.owner.TGID
		}
	}
	return out
}

// Reown gives an open socket whose owner (tgid dead) exited the process
// that holds it now, o, and so the socket's flows that still name the
// dead owner. Their kernel entries keep naming it (the socket's storage
// does, until the new holder sends); such an entry does not take the
// flow back (Update). It reports whether the socket was still open and
// still the dead owner's.
func (t *Table) Reown(cookie uint64, dead uint32, o Owner) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sockets[cookie]
	if s == nil || s.Closed || s.owner == nil || s.owner.TGID != dead || !o.Known() {
		return false
	}
	o.Source = "backfill" // read from /proc, as for sockets older than the agent
	s.owner, s.replaced = t.shared(o), dead
	for _, f := range t.flows {
		if f.cookie == cookie && (f.owner == nil || f.owner.TGID == dead || !f.owner.Known()) {
			f.owner, f.deadTGID, f.changed = s.owner, dead, true
		}
	}
	return true
}
