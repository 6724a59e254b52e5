package bpf

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// The older kernels' variants (the compat classifier, sock_ops owners from
// the task, the one-argument exit program) load here too: every test of
// this package runs again with them, in a child process.
func TestCompatVariantsPassTheSameTests(t *testing.T) {
	testenv.RequirePrivileged(t)
	if os.Getenv(VariantsEnv) != "" {
		t.Skip("already running with " + VariantsEnv)
	}
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.skip", "^TestCompatVariantsPassTheSameTests$")
	cmd.Env = append(os.Environ(), VariantsEnv+"=compat")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests failed with %s=compat: %v\n%s", VariantsEnv, err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("no test ran with %s=compat:\n%s", VariantsEnv, out)
	}
}

func TestVariantsFollowTheKernel(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(Config{FlowMapEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	want := "classifier=kfunc"
	if os.Getenv(VariantsEnv) == "compat" {
		want = "classifier=compat"
	}
	if got := VariantSummary(o.Variants()); !strings.HasPrefix(got, want) {
		t.Fatalf("variants %q, want %s first", got, want)
	}
	if o.ClassifierFor(true, true) == nil || o.ClassifierFor(true, false) == nil ||
		o.ClassifierFor(false, true) == nil || o.ClassifierFor(false, false) == nil {
		t.Fatal("a hook has no classifier")
	}
}

// This machine's kernel (6.18) has everything; an older one is probed
// under qemu (test/kernels).
func TestProbeKernelHere(t *testing.T) {
	testenv.RequirePrivileged(t)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	if !strings.HasPrefix(release, "6.18") {
		t.Skipf("kernel %s: the expected features are known for 6.18 only", release)
	}
	k, err := ProbeKernel()
	if err != nil {
		t.Fatal(err)
	}
	if k != FullKernel {
		t.Fatalf("kernel %s probed as %+v, want %+v", release, k, FullKernel)
	}
}

func TestVerifierCauseIsTheLogsEnd(t *testing.T) {
	log := []string{
		"func#0 @0",
		"0: R1=ctx(off=0,imm=0) R10=fp0",
		"; if (bpf_skb_load_bytes(skb, off & 0xFFFF, ev->data, len))",
		"45: (85) call bpf_skb_load_bytes#26",
		"R3 min value is outside of the allowed memory range",
		"processed 1234 insns (limit 1000000) max_states_per_insn 4 total_states 80 peak_states 80 mark_read 12",
		"",
	}
	got := verifierCause(log)
	want := "; if (bpf_skb_load_bytes(skb, off & 0xFFFF, ev->data, len)) | 45: (85) call bpf_skb_load_bytes#26 | R3 min value is outside of the allowed memory range"
	if got != want {
		t.Fatalf("cause %q\nwant  %q", got, want)
	}
	if verifierCause(nil) != "(no log)" {
		t.Fatal("an empty log has no cause")
	}
}

// A kernel with the kfuncs whose verifier refuses the kfunc classifier
// gets the compat one, and the log says why.
func TestRefusedKfuncClassifierFallsBackToCompat(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(Config{FlowMapEntries: 1024, Kernel: &FullKernel, refuseKfuncs: true, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	v := o.Variants()[0]
	if v.Name != "compat" || !strings.Contains(v.Why, "R0 !read_ok") {
		t.Fatalf("classifier variant %v, want compat, refused for R0 !read_ok", v)
	}
	run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	if n := len(dumpFlows(t, o)); n != 1 {
		t.Fatalf("%d flows after one packet through the compat classifier, want 1", n)
	}
}

// The exit tracepoint's prototype as 6.1 and 6.18 declare it in BTF.
func TestExitPrototypeDecidesTheExitProgram(t *testing.T) {
	param := func(name string) btf.FuncParam { return btf.FuncParam{Name: name, Type: &btf.Void{}} }
	proto := func(ps ...btf.FuncParam) *btf.Typedef {
		return &btf.Typedef{Name: "btf_trace_sched_process_exit", Type: &btf.Pointer{Target: &btf.FuncProto{Params: ps}}}
	}
	for _, c := range []struct {
		name string
		td   *btf.Typedef
		want bool
	}{
		{"6.1", proto(param("__data"), param("p")), false},
		{"6.18", proto(param("__data"), param("p"), param("group_dead")), true},
	} {
		got, err := exitTakesGroupDead(c.td)
		if err != nil || got != c.want {
			t.Errorf("%s: group_dead %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := exitTakesGroupDead(&btf.Typedef{Name: "btf_trace_sched_process_exit", Type: &btf.Int{}}); err == nil {
		t.Error("a typedef of an int passed for a tracepoint")
	}
}
