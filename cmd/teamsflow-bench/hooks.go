package main

// The agent's hooks beyond the classifier, by kind, for switched trials
// that take one kind off and put it back while the rest of the agent
// runs: what each kind costs the flood, side by side with the others,
// the no-op and the reference counter in the same run.

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/bpf"
)

// hookKind is one kind of the agent's kernel hooks.
type hookKind int

const (
	kindTC      hookKind = iota // the classifier, on every interface
	kindSock                    // cgroup sock_create, sock_release
	kindBind                    // cgroup post_bind4/6
	kindConnect                 // cgroup connect4/6
	kindDgram                   // cgroup sendmsg4/6, recvmsg4/6: per datagram with an address
	kindSockops                 // sock_ops
	kindProc                    // tp_btf sched_process_exec/exit
	kindCount
)

func (k hookKind) String() string {
	return [...]string{"tc", "sock", "bind", "connect", "dgram", "sockops", "proc"}[k]
}

// kindOf tells a link's kind from what the kernel says of it.
func kindOf(info *link.Info) (hookKind, error) {
	switch info.Type {
	case link.TracingType, link.RawTracepointType: // tp_btf: raw tracepoint links
		return kindProc, nil
	case link.CgroupType:
		ci := info.Cgroup()
		if ci == nil {
			return 0, fmt.Errorf("cgroup link %d without cgroup info", info.ID)
		}
		switch ebpf.AttachType(ci.AttachType) {
		case ebpf.AttachCGroupInetSockCreate, ebpf.AttachCgroupInetSockRelease:
			return kindSock, nil
		case ebpf.AttachCGroupInet4PostBind, ebpf.AttachCGroupInet6PostBind:
			return kindBind, nil
		case ebpf.AttachCGroupInet4Connect, ebpf.AttachCGroupInet6Connect:
			return kindConnect, nil
		case ebpf.AttachCGroupUDP4Sendmsg, ebpf.AttachCGroupUDP6Sendmsg,
			ebpf.AttachCGroupUDP4Recvmsg, ebpf.AttachCGroupUDP6Recvmsg:
			return kindDgram, nil
		case ebpf.AttachCGroupSockOps:
			return kindSockops, nil
		}
		return 0, fmt.Errorf("cgroup link %d of attach type %d is no hook the bench knows", info.ID, ci.AttachType)
	}
	return 0, fmt.Errorf("link %d of type %d is no hook the bench knows", info.ID, info.Type)
}

// agentHook is one of the agent's links beyond the classifier.
type agentHook struct {
	own   link.Link // the agent's: closing it detaches (raw tracepoint links cannot be detached by ID)
	kind  hookKind
	prog  *ebpf.Program
	point hookPoint
}

// cgroupPoint is a program at a cgroup hook.
type cgroupPoint struct {
	path   string
	attach ebpf.AttachType
	prog   *ebpf.Program
}

func (p cgroupPoint) link() (link.Link, error) {
	l, err := link.AttachCgroup(link.CgroupOptions{Path: p.path, Attach: p.attach, Program: p.prog})
	if err != nil {
		return nil, fmt.Errorf("putting %s back on cgroup %s: %w", p.prog, p.path, err)
	}
	return l, nil
}

// tracingPoint is a tp_btf program, at the tracepoint it was loaded for.
type tracingPoint struct{ prog *ebpf.Program }

func (p tracingPoint) link() (link.Link, error) {
	l, err := link.AttachTracing(link.TracingOptions{Program: p.prog})
	if err != nil {
		return nil, fmt.Errorf("putting %s back: %w", p.prog, err)
	}
	return l, nil
}

// agentHooks lists the agent's links beyond the classifier, with the
// programs they hold; cgroupPath is where the agent attached its cgroup
// hooks. The caller closes the programs (closeHooks).
func agentHooks(a *agent.Agent, cgroupPath string) ([]agentHook, error) {
	var out []agentHook
	for _, l := range a.HookLinks() {
		info, err := l.Info()
		if err != nil {
			closeHooks(out)
			return nil, fmt.Errorf("reading the agent's link: %w", err)
		}
		kind, err := kindOf(info)
		if err != nil {
			closeHooks(out)
			return nil, err
		}
		prog, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			closeHooks(out)
			return nil, fmt.Errorf("opening the agent's program %d: %w", info.Program, err)
		}
		h := agentHook{own: l, kind: kind, prog: prog}
		if kind == kindProc {
			h.point = tracingPoint{prog}
		} else {
			h.point = cgroupPoint{path: cgroupPath, attach: ebpf.AttachType(info.Cgroup().AttachType), prog: prog}
		}
		out = append(out, h)
	}
	return out, nil
}

func closeHooks(hs []agentHook) {
	for _, h := range hs {
		h.prog.Close()
	}
}

// ofKind keeps the hooks of one kind, or all with kindCount.
func ofKind(hs []agentHook, k hookKind) []agentHook {
	var out []agentHook
	for _, h := range hs {
		if k == kindCount || h.kind == k {
			out = append(out, h)
		}
	}
	return out
}

func hookProgs(hs []agentHook) progSet {
	var s progSet
	for _, h := range hs {
		s = append(s, h.prog)
	}
	return s
}

// hooksOf lists the agent's hooks beyond the classifier, at the cgroup
// root the agent attached them to.
func (b *bench) hooksOf(a *agent.Agent) ([]agentHook, error) {
	root, err := bpf.OpenCgroupRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return agentHooks(a, root.Path)
}

// switchFor builds a trial's switch over the agent's hooks: in a per-kind
// mode that kind's (the classifier: where the flood passes it), else the
// classifier where the flood passes it and every other hook. progs are
// the programs whose run time the statistics trial reads. The caller
// closes others' programs and the hooks'.
func (b *bench) switchFor(a *agent.Agent, md mode, found []attachedProg, ends []end) (
	sw *tcxSwitch, progs progSet, others []attachedProg, hooks []agentHook, err error) {
	progs = programsOf(found)
	// Every interface's: with the agent's programs left on lo, the
	// kernel's tcx hooks would stay enabled in the spells off.
	if others, err = b.agentElsewhere(ends); err != nil {
		return nil, progs, others, hooks, err
	}
	if hooks, err = b.hooksOf(a); err != nil {
		return nil, progs, others, hooks, err
	}
	tc, switched := append(slices.Clone(found), others...), hooks
	switch kind, perKind := md.hookKind(); {
	case perKind && kind == kindTC:
		switched = nil // the classifier alone, as pps_kept read before issue #24
	case perKind:
		if switched, tc = ofKind(hooks, kind), nil; len(switched) == 0 {
			return nil, progs, others, hooks, fmt.Errorf("the agent has no %s hooks", kind)
		}
		progs = hookProgs(switched)
	}
	sw, err = agentSwitch(tc, b.topo.floodPasses, switched)
	return sw, progs, others, hooks, err
}
