package bpf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
)

// Kernel is what the running kernel lets the programs use where kernels
// differ. Load probes it (ProbeKernel) unless Config.Kernel gives it, and
// picks a variant of each part for it (Objects.Variants says which).
type Kernel struct {
	// Kfuncs: bpf_cast_to_kern_ctx and bpf_rdonly_cast exist (6.3+). With
	// them one classifier serves both hooks of an interface and reads the
	// kernel's sk_buff and sockets directly; without them the classifier
	// is one program per direction that reads those fields by probe.
	Kfuncs bool
	// SockOpsPidHelper: sock_ops may call bpf_get_current_pid_tgid and the
	// other current-task helpers (not on 6.1); without it TCP_CONNECT
	// reads the owner from the current task's fields.
	SockOpsPidHelper bool
	// ExitGroupDead: tp_btf/sched_process_exit passes group_dead (6.18,
	// not 6.1); without it the exit program reads signal->live.
	ExitGroupDead bool
	// TCTask: TC programs may call the current-task helpers (6.18, not 6.1)
	// and task stacks are vmalloc'd (CONFIG_VMAP_STACK, to tell a softirq). The
	// classifier then makes the sender of a UDP flow's first datagrams the
	// socket's owner, and the cgroup sendmsg/recvmsg hooks, which make the
	// kernel lock the socket around every datagram with an address, stay
	// off. Without it those hooks find new senders, as before.
	TCTask bool
}

// FullKernel is a kernel that has everything: the variants of the newest
// kernels.
var FullKernel = Kernel{Kfuncs: true, SockOpsPidHelper: true, ExitGroupDead: true, TCTask: true}

// OldestKernel is a kernel that has none of it: every fallback at once.
// Tests load it on a new kernel too, so the fallbacks run everywhere.
var OldestKernel = Kernel{}

// ProbeKernel finds out what the running kernel offers. A kernel that
// lacks something teamsflow cannot do without is an error naming it.
func ProbeKernel() (Kernel, error) {
	k, _, err := probeKernel()
	return k, err
}

// probeKernel also returns the kernel's BTF it read: Load hands it on to
// CO-RE, which then finds the kernel's types already decoded (the exit
// tracepoint's prototype decodes task_struct and most of what it points
// to, tens of milliseconds, which loading would otherwise spend again).
func probeKernel() (Kernel, *btf.Spec, error) {
	var k Kernel
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return k, nil, fmt.Errorf("kernel BTF (/sys/kernel/btf/vmlinux) is needed, CONFIG_DEBUG_INFO_BTF: %w", err)
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return k, nil, fmt.Errorf("BPF ring buffers are needed (Linux 5.8+): %w", err)
	}
	k.Kfuncs = haveFunc(spec, "bpf_cast_to_kern_ctx") && haveFunc(spec, "bpf_rdonly_cast")
	if k.ExitGroupDead, err = exitHasGroupDead(spec); err != nil {
		return k, nil, err
	}
	switch err := features.HaveProgramHelper(ebpf.SockOps, asm.FnGetCurrentPidTgid); {
	case err == nil:
		k.SockOpsPidHelper = true
	case !errors.Is(err, ebpf.ErrNotSupported):
		return k, nil, fmt.Errorf("probing sock_ops helpers: %w", err)
	}
	if k.TCTask, err = tcHasTaskHelpers(); err != nil {
		return k, nil, err
	}
	// Without vmalloc'd task stacks the classifier cannot tell its sender
	// from a softirq (tf_on_task_stack), and the sendmsg hooks do it.
	k.TCTask = k.TCTask && hasMember(spec, "task_struct", "stack_vm_area")
	return k, spec, nil
}

// hasMember says whether the kernel's struct name has the member.
func hasMember(spec *btf.Spec, name, member string) bool {
	var st *btf.Struct
	if spec.TypeByName(name, &st) != nil {
		return false
	}
	for _, m := range st.Members {
		if m.Name == member {
			return true
		}
	}
	return false
}

// tcTaskHelpers are what tf_owner_sender calls from the classifier.
// bpf_probe_read_kernel tells a softirq from the sender (tf_on_task_stack);
// a kernel locked down for confidentiality refuses it.
var tcTaskHelpers = []asm.BuiltinFunc{asm.FnGetCurrentPidTgid, asm.FnGetCurrentUidGid, asm.FnGetCurrentTaskBtf,
	asm.FnGetCurrentCgroupId, asm.FnGetCurrentComm, asm.FnProbeReadKernel}

// tcHasTaskHelpers says whether TC programs may call every one of them.
func tcHasTaskHelpers() (bool, error) {
	for _, fn := range tcTaskHelpers {
		switch err := features.HaveProgramHelper(ebpf.SchedCLS, fn); {
		case errors.Is(err, ebpf.ErrNotSupported):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("probing TC helper %s: %w", fn, err)
		}
	}
	return true, nil
}

func haveFunc(spec *btf.Spec, name string) bool {
	var fn *btf.Func
	return spec.TypeByName(name, &fn) == nil
}

// exitHasGroupDead reads the exit tracepoint's prototype: (void *ctx,
// struct task_struct *p) on 6.1, with bool group_dead after it on 6.18.
func exitHasGroupDead(spec *btf.Spec) (bool, error) {
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_sched_process_exit", &td); err != nil {
		return false, fmt.Errorf("the tracepoint sched_process_exit is needed (tp_btf): %w", err)
	}
	return exitTakesGroupDead(td)
}

func exitTakesGroupDead(td *btf.Typedef) (bool, error) {
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false, fmt.Errorf("btf_trace_sched_process_exit is a %T, not a function pointer", td.Type)
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	if !ok {
		return false, fmt.Errorf("btf_trace_sched_process_exit points to a %T, not a function", ptr.Target)
	}
	return len(proto.Params) >= 3, nil
}

// Variant is the form of one part of the kernel programs loaded, and why.
type Variant struct {
	Part, Name, Why string
}

func (v Variant) String() string { return v.Part + "=" + v.Name + " (" + v.Why + ")" }

// variants names the form of each part loaded for kernel k.
func (k Kernel) variants() []Variant {
	vs := make([]Variant, 0, 4)
	if k.Kfuncs {
		vs = append(vs, Variant{"classifier", "kfunc", "one program for both hooks: bpf_cast_to_kern_ctx and bpf_rdonly_cast are there"})
	} else {
		vs = append(vs, Variant{"classifier", "compat", "one program per direction, kernel fields read by probe: no bpf_cast_to_kern_ctx/bpf_rdonly_cast (kernel before 6.3)"})
	}
	if k.SockOpsPidHelper {
		vs = append(vs, Variant{"sockops", "helpers", "sock_ops may call bpf_get_current_pid_tgid"})
	} else {
		vs = append(vs, Variant{"sockops", "task", "owner read from the task's fields: sock_ops may not call bpf_get_current_pid_tgid"})
	}
	if k.ExitGroupDead {
		vs = append(vs, Variant{"exit", "group_dead", "sched_process_exit passes group_dead"})
	} else {
		vs = append(vs, Variant{"exit", "1arg", "sched_process_exit has one argument: group exit read from signal->live"})
	}
	if k.TCTask {
		vs = append(vs, Variant{"sender", "tc", "the classifier reads a UDP flow's sender: no per-datagram sendmsg/recvmsg hooks"})
	} else {
		vs = append(vs, Variant{"sender", "sendmsg", "cgroup sendmsg/recvmsg hooks on every datagram with an address: TC may not read the current task or tell it from a softirq"})
	}
	return vs
}

// VariantSummary is the variants in one line, for the startup log.
func VariantSummary(vs []Variant) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}
