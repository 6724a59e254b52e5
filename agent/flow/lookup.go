package flow

import "github.com/teamsflow/teamsflow/bpf"

// Path is where one flow runs: its socket (the cookie sock_diag reports
// too, so the kernel's TCP round trip can be joined) and the interface
// the classifier saw it on.
type Path struct {
	Cookie  uint64
	Ifindex uint32
}

// Path returns a flow's socket cookie and interface; ok is false for a flow
// the table does not hold.
func (t *Table) Path(k bpf.FlowKey) (Path, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.flows[k]
	if f == nil {
		return Path{}, false
	}
	p := Path{Cookie: f.cookie, Ifindex: f.current.Ifindex}
	if p.Cookie == 0 {
		p.Cookie = t.cookieByTuple(k, false)
	}
	if p.Ifindex == 0 && f.folded != nil {
		p.Ifindex = f.folded.Ifindex
	}
	return p, true
}
