//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/bpf"
)

// What the kernel has attached, asked from the kernel itself, so that a
// test sees leftovers that the agent's own bookkeeping would not.

// cgroupHooks are the attach points of the socket-ownership programs on
// the cgroup v2 root.
var cgroupHooks = []ebpf.AttachType{
	ebpf.AttachCGroupInetSockCreate, ebpf.AttachCgroupInetSockRelease,
	ebpf.AttachCGroupInet4PostBind, ebpf.AttachCGroupInet6PostBind,
	ebpf.AttachCGroupInet4Connect, ebpf.AttachCGroupInet6Connect,
	ebpf.AttachCGroupUDP4Sendmsg, ebpf.AttachCGroupUDP6Sendmsg,
	ebpf.AttachCGroupUDP4Recvmsg, ebpf.AttachCGroupUDP6Recvmsg,
	ebpf.AttachCGroupSockOps,
}

// heldPrograms lists the BPF programs a process holds open (programs and
// links name their program in /proc/PID/fdinfo).
func heldPrograms(t *testing.T, pid int) map[ebpf.ProgramID]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[ebpf.ProgramID]bool{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
					ids[ebpf.ProgramID(n)] = true
				}
			}
		}
	}
	return ids
}

// programExists says whether the kernel still has a program.
func programExists(t *testing.T, id ebpf.ProgramID) bool {
	t.Helper()
	p, err := ebpf.NewProgramFromID(id)
	if err == nil {
		p.Close()
		return true
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("looking up program %d: %v", id, err)
	}
	return false
}

// waitProgramsGone waits until none of ids exists (the kernel frees a
// program after the last reference is dropped, not at once); it returns
// those that remain.
func waitProgramsGone(t *testing.T, ids map[ebpf.ProgramID]bool, within time.Duration) []ebpf.ProgramID {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var left []ebpf.ProgramID
		for id := range ids {
			if programExists(t, id) {
				left = append(left, id)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			slices.Sort(left)
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ifaceAttachment is what runs on one interface, per direction: TCX
// programs and cls_bpf filters together.
type ifaceAttachment struct {
	Name             string
	Ingress, Egress  []ebpf.ProgramID
	FilterNames      []string // cls_bpf filter names (ours start with teamsflow_)
	TCXCount, ClsBPF int
}

// netnsAttachments lists the programs on every interface of a namespace.
func netnsAttachments(t *testing.T, path string) []ifaceAttachment {
	t.Helper()
	var out []ifaceAttachment
	err := netns.Do(path, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			a, err := interfaceAttachment(l)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// interfaceAttachment runs inside the interface's namespace.
func interfaceAttachment(l netlink.Link) (ifaceAttachment, error) {
	a := ifaceAttachment{Name: l.Attrs().Name}
	for _, dir := range []struct {
		attach ebpf.AttachType
		parent uint32
		into   *[]ebpf.ProgramID
	}{{ebpf.AttachTCXIngress, netlink.HANDLE_MIN_INGRESS, &a.Ingress}, {ebpf.AttachTCXEgress, netlink.HANDLE_MIN_EGRESS, &a.Egress}} {
		res, err := link.QueryPrograms(link.QueryOptions{Target: l.Attrs().Index, Attach: dir.attach})
		if err != nil {
			return a, fmt.Errorf("querying tcx of %s: %w", a.Name, err)
		}
		for _, p := range res.Programs {
			*dir.into = append(*dir.into, p.ID)
			a.TCXCount++
		}
		filters, err := netlink.FilterList(l, dir.parent)
		if err != nil {
			continue // no clsact qdisc
		}
		for _, f := range filters {
			if bf, ok := f.(*netlink.BpfFilter); ok {
				*dir.into = append(*dir.into, ebpf.ProgramID(bf.Id))
				a.FilterNames = append(a.FilterNames, bf.Name)
				a.ClsBPF++
			}
		}
	}
	return a, nil
}

// cgroupAttachments lists the programs on each socket hook of the cgroup
// v2 root. Other agents on the host (other tests) may be there too.
func cgroupAttachments(t *testing.T) map[ebpf.AttachType][]ebpf.ProgramID {
	t.Helper()
	root, err := bpf.CgroupV2Root()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[ebpf.AttachType][]ebpf.ProgramID{}
	for _, hook := range cgroupHooks {
		res, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: hook})
		if err != nil {
			t.Fatalf("querying cgroup hook %v: %v", hook, err)
		}
		for _, p := range res.Programs {
			out[hook] = append(out[hook], p.ID)
		}
	}
	return out
}

// checkOneSet asserts that exactly one set of the agent's programs is on
// the namespace's interfaces (one per direction, nothing else) and on
// each cgroup hook, and that every one of them is held by the agent.
func checkOneSet(t *testing.T, nsPath string, held map[ebpf.ProgramID]bool) {
	t.Helper()
	for _, a := range netnsAttachments(t, nsPath) {
		if len(a.Ingress) != 1 || len(a.Egress) != 1 {
			t.Errorf("interface %s: ingress %v egress %v (cls_bpf %v); want one program each way",
				a.Name, a.Ingress, a.Egress, a.FilterNames)
			continue
		}
		for _, id := range append(a.Ingress, a.Egress...) {
			if !held[id] {
				t.Errorf("interface %s: program %d is not the running agent's", a.Name, id)
			}
		}
	}
	attached := cgroupAttachments(t)
	for _, hook := range cgroupHooks {
		n := 0
		for _, id := range attached[hook] {
			if held[id] {
				n++
			}
		}
		// The per-datagram hooks are left off where the classifier reads
		// a UDP flow's sender (bpf: sender=tc); never attached twice.
		datagram := hook == ebpf.AttachCGroupUDP4Sendmsg || hook == ebpf.AttachCGroupUDP6Sendmsg ||
			hook == ebpf.AttachCGroupUDP4Recvmsg || hook == ebpf.AttachCGroupUDP6Recvmsg
		if n != 1 && !(datagram && n == 0) {
			t.Errorf("cgroup hook %v: the running agent's programs are attached %d times, want once", hook, n)
		}
	}
}
