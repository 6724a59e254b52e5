package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

func TestMain(m *testing.M) {
	// The measurements start this binary again in its traffic roles.
	if ok, err := roleMain(os.Args[1:]); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "role:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newTestBench builds the bench's namespaces for one test.
func newTestBench(t *testing.T, cfg config) *bench {
	t.Helper()
	testenv.RequirePrivileged(t)
	topo, err := setupTopology()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	return &bench{ctx: context.Background(), cfg: cfg, topo: topo}
}

// A short churn through the real agent: every flow the sender made is
// found with the sender as owner, and the sender's own pid is not the
// bench's (the owner check would pass for the wrong process otherwise).
func TestChurnFindsEveryFlowWithItsSender(t *testing.T) {
	b := newTestBench(t, config{churnRate: 2000, churnDuration: 1500 * time.Millisecond})
	r, err := b.measureChurn()
	if err != nil {
		t.Fatal(err)
	}
	if r.sent.flows < 2500 || r.sent.pid == os.Getpid() || r.sent.pid == 0 {
		t.Fatalf("sender made %d flows as pid %d (bench %d)", r.sent.flows, r.sent.pid, os.Getpid())
	}
	if r.lost() != 0 || r.eventsLost() != 0 || r.extra != 0 {
		t.Errorf("lost %d (missing %d, no owner %d, other owner %d), extra %d, losses %v",
			r.lost(), r.missing, r.noOwner, r.wrongOwner, r.extra, r.losses)
	}
}

// The daemon runs as a process of its own in the client namespace: its
// CPU, memory and API are read, and it sees the pacer's media flows.
func TestDaemonIsReadThroughProcAndItsAPI(t *testing.T) {
	b := newTestBench(t, config{cpuWindow: time.Second})
	bin, dir, err := daemonBinary("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(dir) })
	d, err := startDaemon(b.ctx, bin, b.topo.client)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	w, err := b.paced(d, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if w.pps < 4500 || w.pps > 5500 || w.precisePct <= 0 || w.pct < 0 {
		t.Errorf("window: %.0f pps (asked 5000), cpu %.2f%% (schedstat %.3f%%)", w.pps, w.pct, w.precisePct)
	}
	rss, hwm, err := d.memoryKB()
	if err != nil || rss < 1024 || hwm < rss {
		t.Errorf("memory: rss %d KiB, peak %d KiB, %v", rss, hwm, err)
	}
	c, err := d.counters()
	if err != nil || c["flows_tracked"] < float64(len(callStreams)) {
		t.Errorf("daemon tracks %v flows (%v), want the %d media flows", c["flows_tracked"], err, len(callStreams))
	}
}
