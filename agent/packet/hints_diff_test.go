//go:build linux

package packet

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/agent/testenv/ring"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// TestHintsSameAsKernel runs a call's worth of media, STUN, DNS and TLS
// frames, and damaged copies, through the TC program and the Go twin, and
// requires the same flows, protocol hints, RTP sources and samples. Times
// and jitter depend on the kernel's clock and are compared elsewhere.
func TestHintsSameAsKernel(t *testing.T) {
	objs, netns := twinObjects(t, 8192)
	rd, err := ringbuf.NewReader(objs.Events())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rng := rand.New(rand.NewSource(2))
	frames, egress := mediaFrames(rng)
	goFlows := NewFlows()
	for i, f := range frames {
		if _, err := objs.TestClassifier(egress[i]).Run(&ebpf.RunOptions{Data: f}); err != nil {
			continue
		}
		goFlows.Add(f, true, 0, egress[i], netns, uint64(i+1))
	}
	compare(t, objs, goFlows)
	compareRTP(t, objs, goFlows)
	compareSamples(t, ring.Samples(t, rd), goFlows.Samples)
	t.Logf("%d frames, %d flows, %d RTP sources, %d samples", len(frames), len(goFlows.Stats), len(goFlows.RTP), len(goFlows.Samples))
	if len(goFlows.RTP) < 6 || len(goFlows.Samples) < 4 {
		t.Errorf("only %d RTP sources and %d samples: the frames miss what they test", len(goFlows.RTP), len(goFlows.Samples))
	}
}

func compareRTP(t *testing.T, objs *bpf.Objects, want *Flows) {
	t.Helper()
	got, err := kernel.ReadRTP(objs.RTP())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.RTP) {
		t.Errorf("kernel has %d RTP sources, Go %d", len(got), len(want.RTP))
	}
	for _, g := range got {
		w, ok := want.RTP[g.Key]
		if !ok {
			t.Errorf("RTP source %+v only in the kernel", g.Key)
			continue
		}
		gs, ws := g.Stats, *w
		gs.FirstNs, gs.LastNs, gs.Jitter16, gs.JitterNs = 0, 0, 0, 0
		ws.FirstNs, ws.LastNs, ws.Jitter16, ws.JitterNs = 0, 0, 0, 0
		if gs != ws {
			t.Errorf("RTP source ssrc %#x egress %d: kernel %+v, Go %+v", g.Key.Ssrc, g.Key.Egress, gs, ws)
		}
	}
}

func compareSamples(t *testing.T, got, want []contract.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("kernel sent %d samples, Go %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Egress != w.Egress || g.Flow != w.Flow || g.TCPSeq != w.TCPSeq || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("sample %d: kernel kind %d seq %d %d bytes, Go kind %d seq %d %d bytes",
				i, g.Kind, g.TCPSeq, len(g.Data), w.Kind, w.TCPSeq, len(w.Data))
		}
	}
}
