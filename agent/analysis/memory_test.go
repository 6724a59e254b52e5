package analysis

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// The daemon keeps one flow state per flow, 10k flows and more, within a
// memory budget: a flow's state (448 bytes) with its map entry (a 48-byte
// key without pointers) stays under 600 bytes of heap (669 with the
// FlowID kept as the key and in the state), and flows of one process
// share its keys.
func TestPipelineHeapPerFlow(t *testing.T) {
	const flows = 10_000
	owner := &observe.Owner{Process: observe.Process{PID: 42, Comm: "app"}}
	start := time.Unix(1_000_000, 0)
	snap := observe.Snapshot{Time: start, OnlyChanged: true}
	for i := range flows {
		id := observe.FlowID{Netns: 7, Transport: observe.UDP,
			Local: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(10_000+i)),
			Peer:  netip.MustParseAddrPort("10.0.0.2:9")}
		c := observe.Counters{Packets: 3, Bytes: 300, First: start, Last: start}
		snap.Flows = append(snap.Flows, observe.Flow{ID: id, Owner: owner, Sent: c})
	}
	before := heapInUse()
	p := New(Config{})
	p.Observe(snap)
	p.Observe(observe.Snapshot{Time: start.Add(time.Second), OnlyChanged: true})
	used := heapInUse() - before
	runtime.KeepAlive(snap)
	if len(p.flows) != flows {
		t.Fatalf("%d flows tracked, want %d", len(p.flows), flows)
	}
	per := used / flows
	t.Logf("%d bytes of heap per flow", per)
	if per > 600 {
		t.Errorf("%d bytes of heap per flow, want at most 600", per)
	}
	runtime.KeepAlive(p)
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
