package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Links is a set of attachments closed together.
type Links []link.Link

// Close detaches everything in the set.
func (l Links) Close() error {
	var errs []error
	for _, lk := range l {
		errs = append(errs, lk.Close())
	}
	return errors.Join(errs...)
}

// AttachSockets attaches the socket-ownership programs to the root of the
// cgroup v2 hierarchy at cgroupPath, so they see every socket on the host
// in every network namespace. bpf_link attachments go away with the agent,
// even when it is killed. The per-datagram sendmsg/recvmsg hooks are
// attached only where the classifier cannot find a UDP flow's sender
// itself (Kernel.TCTask).
func (o *Objects) AttachSockets(cgroupPath string) (Links, error) {
	var links Links
	for _, h := range o.SocketHooks() {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroupPath, Attach: h.Attach, Program: h.Program})
		if err != nil {
			links.Close()
			return nil, fmt.Errorf("attaching %s to cgroup %s: %w", h.Program, cgroupPath, err)
		}
		links = append(links, l)
	}
	return links, nil
}

// SocketHook is one socket-ownership program and the cgroup hook it
// attaches to.
type SocketHook struct {
	Program *ebpf.Program
	Attach  ebpf.AttachType
}

// SocketHooks are the cgroup hooks AttachSockets attaches, in order.
func (o *Objects) SocketHooks() []SocketHook {
	p := &o.sock
	hooks := []SocketHook{
		{p.TfSockCreate, ebpf.AttachCGroupInetSockCreate},
		{p.TfSockRelease, ebpf.AttachCgroupInetSockRelease},
		{p.TfPostBind4, ebpf.AttachCGroupInet4PostBind},
		{p.TfPostBind6, ebpf.AttachCGroupInet6PostBind},
		{p.TfConnect4, ebpf.AttachCGroupInet4Connect},
		{p.TfConnect6, ebpf.AttachCGroupInet6Connect},
	}
	if !o.kernel.TCTask {
		hooks = append(hooks, []SocketHook{
			{p.TfSendmsg4, ebpf.AttachCGroupUDP4Sendmsg},
			{p.TfSendmsg6, ebpf.AttachCGroupUDP6Sendmsg},
			{p.TfRecvmsg4, ebpf.AttachCGroupUDP4Recvmsg},
			{p.TfRecvmsg6, ebpf.AttachCGroupUDP6Recvmsg},
		}...)
	}
	return append(hooks, SocketHook{p.TfSockops, ebpf.AttachCGroupSockOps})
}

// AttachProcesses attaches the exec and exit tracepoints.
func (o *Objects) AttachProcesses() (Links, error) {
	var links Links
	for _, prog := range []*ebpf.Program{o.proc.TfExec, o.proc.TfExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			links.Close()
			return nil, fmt.Errorf("attaching %s: %w", prog, err)
		}
		links = append(links, l)
	}
	return links, nil
}
