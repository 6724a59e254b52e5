//go:build linux

package packet

import (
	"math/rand"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/teamsflow/teamsflow/agent/sockets"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// TestSameAsKernel runs the same packets through the TC program
// (prog.Run) and through Flows, and requires identical flows and counters.
func TestSameAsKernel(t *testing.T) {
	objs, netns := twinObjects(t, 8192)
	rng := rand.New(rand.NewSource(1))
	goFlows := NewFlows()
	for i := 0; i < 3000; i++ {
		pkt := randomFrame(rng)
		egress := rng.Intn(2) == 0
		if _, err := objs.TestClassifier(egress).Run(&ebpf.RunOptions{Data: pkt}); err != nil {
			continue // the kernel's test run refuses some frames outright
		}
		goFlows.Add(pkt, true, 0, egress, netns, 1)
	}
	compare(t, objs, goFlows)
}

func compare(t *testing.T, objs *bpf.Objects, want *Flows) {
	t.Helper()
	got, err := objs.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Stats) {
		t.Errorf("kernel has %d flows, Go parser %d", len(got), len(want.Stats))
	}
	for k, w := range want.Stats {
		g, ok := got[k]
		if !ok {
			t.Errorf("flow %+v only in the Go parser", k)
			continue
		}
		for d := range 2 {
			gd, wd := g.Dir[d], w.Dir[d]
			if gd.Bytes != wd.Bytes || gd.Packets != wd.Packets || gd.TcpFlags != wd.TcpFlags || gd.Dscp != wd.Dscp {
				t.Errorf("flow %+v dir %d: kernel %+v, Go %+v", k, d, gd, wd)
			}
		}
		if g.Protos != w.Protos || g.StunType != w.StunType {
			t.Errorf("flow %+v: kernel protocols %#x type %#x, Go %#x type %#x", k, g.Protos, g.StunType, w.Protos, w.StunType)
		}
	}
	c, err := objs.ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []contract.Counter{contract.CntParseShort, contract.CntIPFragment, contract.CntRTPMapFull, contract.CntSamplesRateLimited} {
		if c[i] != want.Counters[i] {
			t.Errorf("counter %s: kernel %d, Go %d", contract.CounterNames[i], c[i], want.Counters[i])
		}
	}
}

// twinObjects loads the classifier for test runs beside the Go twin, on
// one CPU as the twin models, and returns this namespace's cookie, which
// the twin's flows carry.
func twinObjects(t *testing.T, flowEntries uint32) (*bpf.Objects, uint64) {
	t.Helper()
	testenv.RequirePrivileged(t)
	testenv.OnOneCPU(t)
	objs, err := bpf.Load(bpf.Config{FlowMapEntries: flowEntries, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	netns, err := sockets.NetnsCookie()
	if err != nil {
		t.Fatal(err)
	}
	return objs, netns
}
