package main

import (
	"math"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// steadyMarks is a sender at offRate packets/s, onRate while a spell on
// lasts, and stalled while a switch is under way; marked every 2 ms from
// t0 for d.
func steadyMarks(t0 int64, d time.Duration, starts []spellStart, offRate, onRate float64) []mark {
	var out []mark
	var pkts float64
	step := int64(markEvery)
	for ns := t0; ns <= t0+int64(d); ns += step {
		out = append(out, mark{ns: ns, pkts: uint64(pkts)})
		rate := offRate
		for _, st := range starts {
			if st.ns <= ns {
				rate = map[bool]float64{true: onRate, false: offRate}[st.on]
			} else if st.flipping <= ns {
				rate = 0
			}
		}
		pkts += rate * float64(step) / 1e9
	}
	return out
}

func TestSpellsSetEachSpellOnBesideTheSpellsOffAroundIt(t *testing.T) {
	ms := int64(time.Millisecond)
	// The sender starts marking 250 ms after the first spell began, as
	// after its start-up and warm-up.
	starts := []spellStart{{0, 0, true}}
	for i, at := 1, int64(100*ms); at < 2000*ms; i, at = i+1, at+100*ms {
		starts = append(starts, spellStart{at - 20*ms, at, i%2 == 0})
	}
	marks := steadyMarks(250*ms, 1700*time.Millisecond, starts, 300_000, 291_000)
	sp := spells(marks, starts)
	// Spell 1 has no marks and spell 2 marks over half of it; the on
	// spells with off spells on both sides: 4, 6, ..., 18.
	if len(sp.ratios) != 8 {
		t.Fatalf("%d ratios, want 8: %v", len(sp.ratios), sp.ratios)
	}
	for _, r := range sp.ratios {
		if math.Abs(r-0.97) > 0.001 {
			t.Errorf("ratio %.4f, want 0.97", r)
		}
	}
	if got := summarize(sp.onRate).median; math.Abs(got-291_000) > 300 {
		t.Errorf("on rate %.0f, want 291000", got)
	}
}

func TestSpellWithTooFewMarksIsLeftOut(t *testing.T) {
	ms := int64(time.Millisecond)
	starts := []spellStart{{0, 0, false}, {100 * ms, 100 * ms, true}, {200 * ms, 200 * ms, false}, {300 * ms, 300 * ms, true}, {400 * ms, 400 * ms, false}}
	// The sender started marking 60 ms into the first spell on: too little
	// of it to read its rate.
	late := steadyMarks(160*ms, 340*time.Millisecond, starts, 1000, 900)
	if sp := spells(late, starts); len(sp.ratios) != 1 || math.Abs(sp.ratios[0]-0.9) > 0.01 {
		t.Errorf("ratios %v, want one of 0.9 (the second spell on)", sp.ratios)
	}
	if sp := spells(steadyMarks(0, 500*time.Millisecond, starts, 1000, 900), starts); len(sp.ratios) != 2 {
		t.Errorf("ratios %v, want two", sp.ratios)
	}
}

func TestMarksRoundTrip(t *testing.T) {
	l := &markLog{marks: []mark{{1, 0}, {2_000_001, 640}}}
	got, err := parseMarks(l.String())
	if err != nil || len(got) != 2 || got[1] != (mark{2_000_001, 640}) {
		t.Fatalf("%v, %v", got, err)
	}
	for _, bad := range []string{"packets=1", "marks=1:2,x", "marks=1"} {
		if _, err := parseMarks(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	r, err := parseResult("packets=10 errors=0 elapsed_ns=1000000000 cpu_ns=500000000\nmarks=5:0,7:3\n")
	if err != nil || len(r.marks) != 2 || r.packets != 10 {
		t.Errorf("%+v, %v", r, err)
	}
}

// The switch puts its programs on all its hooks at once and takes them
// all off again: both ends of the veth, as in the no-op-on-both trials.
func TestSwitchPutsEveryProgramOnAndTakesItOff(t *testing.T) {
	b := newTestBench(t, config{})
	noop, err := loadNoop()
	if err != nil {
		t.Fatal(err)
	}
	defer noop.Close()
	client, server := vethIndexes(t, b)
	sw := &tcxSwitch{points: []hookPoint{
		tcxPoint{ns: b.topo.client, ifindex: client, attach: ebpf.AttachTCXEgress, prog: noop},
		tcxPoint{ns: b.topo.server, ifindex: server, attach: ebpf.AttachTCXIngress, prog: noop}}}
	attached := func() (n int) {
		for _, e := range []end{{b.topo.client, b.topo.clientIf}, {b.topo.server, b.topo.serverIf}} {
			found, err := attachedTC(e.ns, e.iface, noopName)
			if err != nil {
				t.Fatal(err)
			}
			n += len(found)
		}
		return n
	}
	for round := range 2 {
		if err := sw.on(); err != nil {
			t.Fatal(err)
		}
		if n := attached(); n != 2 {
			t.Fatalf("round %d: %d no-ops attached after on, want 2", round, n)
		}
		if err := sw.off(); err != nil {
			t.Fatal(err)
		}
		if n := attached(); n != 0 {
			t.Fatalf("round %d: %d no-ops attached after off, want 0", round, n)
		}
	}
}

// Only the client veth's egress and the server veth's ingress carry the
// flood: the agent's switch flips those and leaves the rest off.
func TestFloodPassesTheClientsEgressAndTheServersIngressOnly(t *testing.T) {
	b := newTestBench(t, config{})
	client, server := vethIndexes(t, b)
	lo, err := interfaceIn(b.topo.client, "lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    tcxPoint
		want bool
	}{
		{tcxPoint{ns: b.topo.client, ifindex: client, attach: ebpf.AttachTCXEgress}, true},
		{tcxPoint{ns: b.topo.client, ifindex: client, attach: ebpf.AttachTCXIngress}, false},
		{tcxPoint{ns: b.topo.server, ifindex: server, attach: ebpf.AttachTCXIngress}, true},
		{tcxPoint{ns: b.topo.server, ifindex: server, attach: ebpf.AttachTCXEgress}, false},
		{tcxPoint{ns: b.topo.client, ifindex: lo, attach: ebpf.AttachTCXEgress}, false},
		{tcxPoint{ns: b.topo.server, ifindex: client, attach: ebpf.AttachTCXIngress}, client == server},
	} {
		if got := b.topo.floodPasses(c.p); got != c.want {
			t.Errorf("%s ifindex %d %s: floodPasses %v, want %v", c.p.ns.Name, c.p.ifindex, c.p.attach, got, c.want)
		}
	}
}

// vethIndexes are the interface indexes of the client's and the server's
// ends of the veth.
func vethIndexes(t *testing.T, b *bench) (client, server int) {
	t.Helper()
	client, err := interfaceIn(b.topo.client, b.topo.clientIf)
	if err != nil {
		t.Fatal(err)
	}
	server, err = interfaceIn(b.topo.server, b.topo.serverIf)
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}
