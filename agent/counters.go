package agent

import (
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Counters are the agent's own figures: what it tracks and what it lost.
type Counters struct {
	FlowsTracked int               `json:"flows_tracked"`
	Processes    int               `json:"processes_known"`
	Kernel       map[string]uint64 `json:"kernel"`           // contract.CounterNames
	BadEvents    uint64            `json:"events_malformed"` // ring-buffer records that did not decode
	// DroppedEvents were read from the ring buffer but found the event
	// queue full (the work they cause fell behind).
	DroppedEvents uint64 `json:"events_dropped"`
}

// Counters reads the kernel's loss counters and the table sizes.
func (a *Agent) Counters() (Counters, error) {
	c := Counters{FlowsTracked: a.table.Len(), Processes: a.procs.Len(),
		Kernel: map[string]uint64{}, BadEvents: a.badEvts.Load(), DroppedEvents: a.queue.Dropped()}
	k, err := a.objs.ReadCounters()
	for i, v := range k {
		c.Kernel[contract.CounterNames[i]] = v
	}
	return c, err
}

// Losses lists the non-zero counters that mean something was dropped.
func (c Counters) Losses() map[string]uint64 {
	out := map[string]uint64{}
	for _, name := range []string{"flow_map_full", "events_lost", "owner_store_fail"} {
		if v := c.Kernel[name]; v > 0 {
			out[name] = v
		}
	}
	if c.BadEvents > 0 {
		out["events_malformed"] = c.BadEvents
	}
	if c.DroppedEvents > 0 {
		out["events_dropped"] = c.DroppedEvents
	}
	return out
}
