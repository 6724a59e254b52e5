package main

import (
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent"
)

// The unconnected flood passes the per-datagram hooks: with the agent's
// sendmsg/recvmsg programs attached (DatagramHooks), they run at least
// once for every datagram the sender sent, and the sink reads them with
// their addresses. Without DatagramHooks the agent has no such hooks.
func TestUnconnectedFloodRunsTheDatagramHooks(t *testing.T) {
	b := newTestBench(t, config{})
	for _, hooks := range []bool{true, false} {
		cfg := b.agentConfig([]string{b.topo.client.Path()})
		cfg.Maps.DatagramHooks = hooks
		a, err := agent.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		all, err := b.hooksOf(a)
		dgram := ofKind(all, kindDgram)
		if err != nil || len(dgram) != map[bool]int{true: 4, false: 0}[hooks] {
			t.Fatalf("DatagramHooks %v: %d dgram hooks of %d (%v), want 4 or none", hooks, len(dgram), len(all), err)
		}
		if hooks {
			checkFloodRuns(t, b, dgram)
		}
		closeHooks(all)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func checkFloodRuns(t *testing.T, b *bench, dgram []agentHook) {
	t.Helper()
	stop, err := readSink(b.topo.sink)
	if err != nil {
		t.Fatal(err)
	}
	m := measurement{flows: 1, batch: 64, unconnected: true}
	var r trialResult
	st, err := profile(hookProgs(dgram), func() error {
		var err error
		r, err = runSender(b.ctx, b.topo, senderArgs{dst: b.topo.dst, flows: m.flows, batch: m.batch, size: 64,
			cpu: -1, duration: 300 * time.Millisecond, unconnected: true})
		return err
	})
	read := stop()
	if err != nil {
		t.Fatal(err)
	}
	if st.runs < r.packets || read == 0 {
		t.Errorf("sent %d datagrams, the dgram hooks ran %d times, the sink read %d", r.packets, st.runs, read)
	}
}

// Modes name their hook kind; the per-kind modes cover every kind once.
func TestHookModesCoverEveryKind(t *testing.T) {
	seen := map[hookKind]bool{}
	for _, md := range hookModes() {
		k, ok := md.hookKind()
		if !ok || seen[k] || md.String() != "hook:"+k.String() {
			t.Errorf("mode %d: kind %v (%v), name %q", md, k, ok, md)
		}
		seen[k] = true
	}
	if len(seen) != int(kindCount) {
		t.Errorf("%d kinds covered, want %d", len(seen), kindCount)
	}
	if _, ok := modeOnDgram.hookKind(); ok || modeOnDgram.String() != "on-dgram" {
		t.Errorf("on-dgram: %q", modeOnDgram)
	}
}
