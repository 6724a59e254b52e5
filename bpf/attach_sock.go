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
// even when it is killed.
func (o *Objects) AttachSockets(cgroupPath string) (Links, error) {
	p := &o.sock
	hooks := []struct {
		prog   *ebpf.Program
		attach ebpf.AttachType
	}{
		{p.TfSockCreate, ebpf.AttachCGroupInetSockCreate},
		{p.TfSockRelease, ebpf.AttachCgroupInetSockRelease},
		{p.TfPostBind4, ebpf.AttachCGroupInet4PostBind},
		{p.TfPostBind6, ebpf.AttachCGroupInet6PostBind},
		{p.TfConnect4, ebpf.AttachCGroupInet4Connect},
		{p.TfConnect6, ebpf.AttachCGroupInet6Connect},
		{p.TfSendmsg4, ebpf.AttachCGroupUDP4Sendmsg},
		{p.TfSendmsg6, ebpf.AttachCGroupUDP6Sendmsg},
		{p.TfRecvmsg4, ebpf.AttachCGroupUDP4Recvmsg},
		{p.TfRecvmsg6, ebpf.AttachCGroupUDP6Recvmsg},
		{p.TfSockops, ebpf.AttachCGroupSockOps},
	}
	var links Links
	for _, h := range hooks {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroupPath, Attach: h.attach, Program: h.prog})
		if err != nil {
			links.Close()
			return nil, fmt.Errorf("attaching %s to cgroup %s: %w", h.prog, cgroupPath, err)
		}
		links = append(links, l)
	}
	return links, nil
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
