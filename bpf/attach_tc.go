package bpf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCMode says how the classifier is attached.
type TCMode string

const (
	// TCAuto uses TCX and falls back to clsact on kernels before 6.6.
	TCAuto TCMode = "auto"
	// TCX attaches with TCX links: nothing survives the agent, other
	// programs keep running (the classifier returns TCX_NEXT).
	TCX TCMode = "tcx"
	// TCClsact adds a clsact qdisc and cls_bpf filters, which outlive a
	// killed agent; CleanStaleFilters removes them at the next start.
	TCClsact TCMode = "clsact"
)

// filterPrefix names our cls_bpf filters so that leftovers are recognised.
const filterPrefix = "teamsflow_"

// TCAttachment is the classifier on one interface, both directions.
// Close must run in the interface's network namespace when Mode is clsact.
type TCAttachment struct {
	Ifindex int
	Mode    TCMode
	links   Links
	filters []*netlink.BpfFilter
}

// AttachTC attaches the classifier to ingress and egress of an interface
// of the calling thread's network namespace. l2 is false for devices
// without an Ethernet header.
func (o *Objects) AttachTC(ifindex int, l2 bool, mode TCMode) (*TCAttachment, error) {
	if mode == TCAuto || mode == TCX {
		a, err := o.attachTCX(ifindex, l2)
		if err == nil || mode == TCX || !errors.Is(err, ebpf.ErrNotSupported) {
			return a, err
		}
	}
	return o.attachClsact(ifindex, l2)
}

func (o *Objects) attachTCX(ifindex int, l2 bool) (*TCAttachment, error) {
	a := &TCAttachment{Ifindex: ifindex, Mode: TCX}
	for _, egress := range []bool{false, true} {
		attach := ebpf.AttachTCXIngress
		if egress {
			attach = ebpf.AttachTCXEgress
		}
		l, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: o.ClassifierFor(l2, egress), Attach: attach})
		if err != nil {
			a.links.Close()
			return nil, fmt.Errorf("attaching tcx to interface %d: %w", ifindex, err)
		}
		a.links = append(a.links, l)
	}
	return a, nil
}

func (o *Objects) attachClsact(ifindex int, l2 bool) (*TCAttachment, error) {
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}
	if err := netlink.QdiscReplace(qdisc); err != nil {
		return nil, fmt.Errorf("adding clsact qdisc to interface %d: %w", ifindex, err)
	}
	a := &TCAttachment{Ifindex: ifindex, Mode: TCClsact}
	for _, egress := range []bool{false, true} {
		parent, name := uint32(netlink.HANDLE_MIN_INGRESS), filterPrefix+"ingress"
		if egress {
			parent, name = netlink.HANDLE_MIN_EGRESS, filterPrefix+"egress"
		}
		f := &netlink.BpfFilter{
			FilterAttrs:  netlink.FilterAttrs{LinkIndex: ifindex, Parent: parent, Handle: 1, Protocol: unix.ETH_P_ALL, Priority: 1},
			Fd:           o.ClassifierFor(l2, egress).FD(),
			Name:         name,
			DirectAction: true,
		}
		if err := netlink.FilterReplace(f); err != nil {
			a.Close()
			return nil, fmt.Errorf("adding tc filter to interface %d: %w", ifindex, err)
		}
		a.filters = append(a.filters, f)
	}
	return a, nil
}

// Close detaches the classifier from the interface. A vanished interface
// took its attachments with it, which is not an error.
func (a *TCAttachment) Close() error {
	errs := []error{a.links.Close()}
	for _, f := range a.filters {
		if err := netlink.FilterDel(f); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("removing tc filter from interface %d: %w", a.Ifindex, err))
		}
	}
	return errors.Join(errs...)
}

// CleanStaleFilters removes cls_bpf filters that an earlier, killed agent
// left on an interface of the calling thread's namespace. It returns how
// many it removed.
func CleanStaleFilters(ifindex int) (int, error) {
	link, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return 0, nil // gone already
	}
	removed := 0
	for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		filters, err := netlink.FilterList(link, parent)
		if err != nil {
			continue // no clsact qdisc: nothing of ours there
		}
		for _, f := range filters {
			bf, ok := f.(*netlink.BpfFilter)
			if !ok || !strings.HasPrefix(bf.Name, filterPrefix) {
				continue
			}
			if err := netlink.FilterDel(bf); err != nil && !isGone(err) {
				return removed, fmt.Errorf("removing stale tc filter %s from %s: %w", bf.Name, link.Attrs().Name, err)
			}
			removed++
		}
	}
	return removed, nil
}

func isGone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL)
}
