package bpf

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// The types shared with the kernel programs, generated once in
// bpf/contract; the loader's API (flows, RTP sources, events, counters)
// speaks them, so they are named here too. The constants (counters, event
// types, protocol bits) are in bpf/contract only.
type (
	Owner        = contract.Owner
	SockEvent    = contract.SockEvent
	ProcEvent    = contract.ProcEvent
	FlowKey      = contract.FlowKey
	FlowStats    = contract.FlowStats
	FlowDir      = contract.FlowDir
	FlowSlot     = contract.FlowSlot
	ClockPair    = contract.ClockPair
	RTPKey       = contract.RTPKey
	RTPStats     = contract.RTPStats
	PayloadEvent = contract.PayloadEvent
)

// Config sizes the kernel maps. Zero values keep the compiled-in defaults.
type Config struct {
	// FlowMapEntries is the number of flows tracked at once.
	FlowMapEntries uint32
	// EventBufferBytes is the ring buffer size: a power of two, at least a page.
	EventBufferBytes uint32
	// RTPMapEntries is the number of RTP sources tracked at once.
	RTPMapEntries uint32
	// FlowSlots is the number of flow slots per CPU in front of the flow
	// map (tf_slots.h), a power of two: 0 for DefaultFlowSlots, -1 for
	// none (every flow in the map, as in tests of a full map).
	FlowSlots int
	// TestClassifiers also loads the classifier with its direction fixed
	// (TestClassifier), for tests that run it with BPF_PROG_TEST_RUN.
	TestClassifiers bool
	// DatagramHooks finds a UDP socket's new sender with the cgroup
	// sendmsg/recvmsg hooks, as on kernels whose classifier cannot read
	// the current task, even where it can: the bench sets the two side by
	// side.
	DatagramHooks bool
	// Kernel, when set, is used instead of probing the running kernel:
	// tests load the older kernels' variants (OldestKernel) on this one.
	Kernel *Kernel
	// refuseKfuncs makes the kfunc classifier one the verifier refuses,
	// for the test of the fallback to the compat one.
	refuseKfuncs bool
}

// Objects are the loaded programs and maps. The maps are created once and
// shared by all programs.
type Objects struct {
	sock   sockObjects
	proc   processObjects
	tc     trafficObjects
	test   testClassifiers
	flows  *FlowTable
	kernel Kernel
	// refused is the verifier's cause when it refused the kfunc
	// classifier on a kernel that has the kfuncs, and the compat one
	// was loaded instead.
	refused string
}

// processObjects are the process programs: the exit program is the one of
// the two that fits the kernel's tracepoint (Kernel.ExitGroupDead).
type processObjects struct {
	TfExec *ebpf.Program `ebpf:"tf_exec"`
	TfExit *ebpf.Program `ebpf:"tf_exit"`
}

func (p *processObjects) Close() error { return _ProcClose(p.TfExec, p.TfExit) }

// Load loads every program and map into the kernel, in the variants that
// the kernel supports (Variants). Nothing is attached.
func Load(cfg Config) (*Objects, error) {
	k, kernelTypes, err := cfg.kernel()
	if err != nil {
		return nil, err
	}
	if cfg.DatagramHooks {
		k.TCTask = false
	}
	loadTraffic := loadTc
	if !k.Kfuncs {
		loadTraffic = loadTcCompat
	}
	specs := map[string]func() (*ebpf.CollectionSpec, error){"socket": loadSock, "process": loadProc, "traffic": loadTraffic}
	loaded := map[string]*ebpf.CollectionSpec{}
	for name, load := range specs {
		spec, err := load()
		if err != nil {
			return nil, fmt.Errorf("reading %s programs: %w", name, err)
		}
		cfg.size(spec)
		loaded[name] = spec
	}
	slots, err := cfg.slots(loaded["traffic"])
	if err != nil {
		return nil, err
	}
	if err := k.choose(loaded["socket"], loaded["process"]); err != nil {
		return nil, err
	}
	if err := k.chooseSender(loaded["traffic"]); err != nil {
		return nil, err
	}
	o := &Objects{kernel: k}
	progOpts := ebpf.ProgramOptions{KernelTypes: kernelTypes} // nil: cilium/ebpf reads them itself
	if err := loaded["socket"].LoadAndAssign(&o.sock, &ebpf.CollectionOptions{Programs: progOpts}); err != nil {
		return nil, fmt.Errorf("loading socket programs: %w", verifierDetail(err))
	}
	shared := &ebpf.CollectionOptions{Programs: progOpts, MapReplacements: map[string]*ebpf.Map{
		"tf_owners":   o.sock.TfOwners,
		"tf_flows":    o.sock.TfFlows,
		"tf_events":   o.sock.TfEvents,
		"tf_counters": o.sock.TfCounters,
	}}
	if err := loaded["process"].LoadAndAssign(&o.proc, shared); err != nil {
		o.Close()
		return nil, fmt.Errorf("loading process programs: %w", verifierDetail(err))
	}
	if cfg.refuseKfuncs {
		loaded["traffic"].Programs["tf_tc"].Instructions = asm.Instructions{asm.Return()} // R0 never set
	}
	if err := o.loadTraffic(loaded["traffic"], shared, cfg.TestClassifiers); err != nil {
		if err = o.retryCompat(cfg, shared, err); err != nil {
			o.Close()
			return nil, fmt.Errorf("loading traffic programs: %w", verifierDetail(err))
		}
	}
	if err := o.setRTPClocks(); err != nil {
		o.Close()
		return nil, err
	}
	if o.flows, err = newFlowTable(o.tc.TfSlots, o.sock.TfFlows, slots); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// VariantsEnv names the variants to load instead of the probed ones:
// "compat" loads every older kernel's fallback (OldestKernel), so that
// tests run them on a new kernel too.
const VariantsEnv = "TEAMSFLOW_BPF_VARIANTS"

// retryCompat loads the compat classifier when the kernel has the kfuncs
// but its verifier refused the kfunc build (refused): a kernel between
// 6.3 and 6.18 may lack something else that build relies on.
func (o *Objects) retryCompat(cfg Config, shared *ebpf.CollectionOptions, refused error) error {
	var ve *ebpf.VerifierError
	if !o.kernel.Kfuncs || !errors.As(refused, &ve) {
		return refused
	}
	spec, err := loadTcCompat()
	if err != nil {
		return err
	}
	cfg.size(spec)
	if _, err := cfg.slots(spec); err != nil {
		return err
	}
	if err := o.kernel.chooseSender(spec); err != nil {
		return err
	}
	o.kernel.Kfuncs, o.refused = false, verifierCause(ve.Log)
	if err := o.loadTraffic(spec, shared, false); err != nil {
		return fmt.Errorf("the kfunc classifier was refused (%s), and the compat one: %w", o.refused, err)
	}
	return nil
}

// kernel is the configured kernel, else the one VariantsEnv names, else
// the running one's features and its BTF.
func (cfg Config) kernel() (Kernel, *btf.Spec, error) {
	if cfg.Kernel != nil {
		return *cfg.Kernel, nil, nil
	}
	switch v := os.Getenv(VariantsEnv); v {
	case "":
	case "compat":
		return OldestKernel, nil, nil
	default:
		return Kernel{}, nil, fmt.Errorf("%s=%q: the only value is \"compat\"", VariantsEnv, v)
	}
	k, spec, err := probeKernel()
	if err != nil {
		return k, nil, fmt.Errorf("this kernel cannot run teamsflow: %w", err)
	}
	return k, spec, nil
}

// choose sets the socket and process objects up for kernel k: the sock_ops
// setting, and which exit program is loaded as tf_exit.
func (k Kernel) choose(sock, proc *ebpf.CollectionSpec) error {
	if !k.SockOpsPidHelper {
		if err := sock.Variables["tf_sockops_task"].Set(uint32(1)); err != nil {
			return fmt.Errorf("setting the sock_ops variant: %w", err)
		}
	}
	if !k.ExitGroupDead {
		proc.Programs["tf_exit"] = proc.Programs["tf_exit_1arg"]
	}
	delete(proc.Programs, "tf_exit_1arg")
	return nil
}

// chooseSender lets the classifier read a UDP flow's sender (tf_tc_task)
// where the kernel allows it, with the page size it tells a task's own
// stack by (tf_page_size).
func (k Kernel) chooseSender(traffic *ebpf.CollectionSpec) error {
	if !k.TCTask {
		return nil
	}
	if err := traffic.Variables["tf_tc_task"].Set(uint32(1)); err != nil {
		return fmt.Errorf("setting the sender variant: %w", err)
	}
	if err := traffic.Variables["tf_page_size"].Set(uint32(os.Getpagesize())); err != nil {
		return fmt.Errorf("setting the sender variant's page size: %w", err)
	}
	return nil
}

// Variants names the form of each part of the programs that Load chose
// for the kernel, and why: for the startup log.
func (o *Objects) Variants() []Variant {
	vs := o.kernel.variants()
	if o.refused != "" {
		vs[0].Why = "the kfunc classifier was refused: " + o.refused
	}
	return vs
}

// size applies the configured map sizes; every object declares the shared
// maps, and a replacement must match its declaration.
func (cfg Config) size(spec *ebpf.CollectionSpec) {
	if m := spec.Maps["tf_flows"]; m != nil && cfg.FlowMapEntries > 0 {
		m.MaxEntries = cfg.FlowMapEntries
	}
	if m := spec.Maps["tf_events"]; m != nil && cfg.EventBufferBytes > 0 {
		m.MaxEntries = cfg.EventBufferBytes
	}
	if m := spec.Maps["tf_rtp"]; m != nil && cfg.RTPMapEntries > 0 {
		m.MaxEntries = cfg.RTPMapEntries
	}
}

// slots sizes the flow slot array, one run of slots per possible CPU,
// and returns the slots per CPU (0: none).
func (cfg Config) slots(spec *ebpf.CollectionSpec) (int, error) {
	n := cfg.FlowSlots
	switch {
	case n == 0:
		n = DefaultFlowSlots
	case n < 0:
		return 0, nil
	case n&(n-1) != 0 || n > 1<<20:
		return 0, fmt.Errorf("flow slots per CPU must be a power of two up to 2^20, not %d", n)
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return 0, fmt.Errorf("counting CPUs for the flow slots: %w", err)
	}
	spec.Maps["tf_slots"].MaxEntries = uint32(cpus * n)
	if err := spec.Variables["tf_slot_count"].Set(uint32(n)); err != nil {
		return 0, fmt.Errorf("setting the flow slots: %w", err)
	}
	return n, nil
}

// verifierDetail puts a refused program's error on one line: the
// verifier's cause is at the end of its log, the rest is its trace.
func verifierDetail(err error) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("%s: verifier: %s", ve.Cause, verifierCause(ve.Log))
}

// verifierCause is the last meaningful lines of a verifier log: without
// the statistics it ends with, and at most verifierCauseLines of them.
func verifierCause(log []string) string {
	const verifierCauseLines = 3
	var out []string
	for i := len(log) - 1; i >= 0 && len(out) < verifierCauseLines; i-- {
		l := strings.TrimSpace(log[i])
		if l == "" || strings.HasPrefix(l, "processed ") || strings.HasPrefix(l, "verification time") ||
			strings.HasPrefix(l, "stack depth") || strings.HasPrefix(l, "(truncated") {
			continue
		}
		out = append([]string{l}, out...)
	}
	if len(out) == 0 {
		return "(no log)"
	}
	return strings.Join(out, " | ")
}

// Close unloads everything. Attachments must be closed first.
func (o *Objects) Close() error {
	return errors.Join(o.test.Close(), o.tc.Close(), o.proc.Close(), o.sock.Close())
}

// Flows is where the classifier counts flows: the slots and the map.
func (o *Objects) Flows() *FlowTable { return o.flows }

// Events is the ring buffer of SockEvent and ProcEvent records.
func (o *Objects) Events() *ebpf.Map { return o.sock.TfEvents }

// RTP is the RTP source map: RTPKey -> RTPStats (shared by all CPUs).
func (o *Objects) RTP() *ebpf.Map { return o.tc.TfRtp }

// Counters is the per-CPU array of loss and anomaly counters.
func (o *Objects) Counters() *ebpf.Map { return o.sock.TfCounters }

// Classifier returns the TC program at egress of an interface (l2:
// Ethernet header present; false for tun and other L3 devices). With the
// kfunc variant it is the one program at both hooks, and reads its
// direction from the hook.
func (o *Objects) Classifier(l2 bool) *ebpf.Program { return o.ClassifierFor(l2, true) }

// ClassifierFor returns the TC program for one hook of an interface.
func (o *Objects) ClassifierFor(l2, egress bool) *ebpf.Program { return o.tc.cls[b2i(l2)][b2i(egress)] }

// TestClassifier returns the classifier's code with the direction fixed,
// for BPF_PROG_TEST_RUN; nil unless loaded with Config.TestClassifiers.
// The compat variant's programs have their direction fixed already.
func (o *Objects) TestClassifier(egress bool) *ebpf.Program {
	if !o.kernel.Kfuncs {
		return o.ClassifierFor(true, egress)
	}
	if egress {
		return o.test.TfTcTestEgress
	}
	return o.test.TfTcTestIngress
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ReadCounters sums the per-CPU loss and anomaly counters.
func (o *Objects) ReadCounters() ([contract.NumCounters]uint64, error) {
	var out [contract.NumCounters]uint64
	for i := range out {
		var perCPU []uint64
		if err := o.sock.TfCounters.Lookup(uint32(i), &perCPU); err != nil {
			return out, fmt.Errorf("reading counter %s: %w", contract.CounterNames[i], err)
		}
		for _, v := range perCPU {
			out[i] += v
		}
	}
	return out, nil
}

// ProgramIDs lists the kernel IDs of the loaded programs, so that tests
// and diagnostics can tell ours apart from other instances'.
func (o *Objects) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	for _, p := range append([]*ebpf.Program{
		o.sock.TfSockCreate, o.sock.TfSockRelease, o.sock.TfPostBind4, o.sock.TfPostBind6,
		o.sock.TfConnect4, o.sock.TfConnect6, o.sock.TfSendmsg4, o.sock.TfSendmsg6,
		o.sock.TfRecvmsg4, o.sock.TfRecvmsg6, o.sock.TfSockops, o.proc.TfExec, o.proc.TfExit,
		o.tc.TfClockSample,
	}, o.tc.classifiers()...) {
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// SampleClock reads jiffies and the boot clock at the same moment (the
// flow map's last-seen times are in jiffies).
func (o *Objects) SampleClock() (ClockPair, error) {
	var c ClockPair
	// The test run needs a frame; the program does not look at it.
	if _, err := o.tc.TfClockSample.Run(&ebpf.RunOptions{Data: make([]byte, 14)}); err != nil {
		return c, fmt.Errorf("sampling kernel clocks: %w", err)
	}
	if err := o.tc.TfClock.Lookup(uint32(0), &c); err != nil {
		return c, fmt.Errorf("sampling kernel clocks: %w", err)
	}
	return c, nil
}
