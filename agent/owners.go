package agent

import (
	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/proc"
)

func ownerFromProc(info proc.Info) flow.Owner {
	// StartNs is rebuilt from ticks so that later lookups hit the same key.
	return flow.Owner{TGID: info.PID, PID: info.PID, UID: info.UID, Comm: info.Comm,
		StartNs: info.StartTicks * 10_000_000, Source: "backfill"}
}

// ownerKey is the process cache key of a socket owner. The kernel gives
// the exact start time; a backfilled owner only the tick /proc knows.
func ownerKey(o flow.Owner) proc.Key {
	if o.Source == "backfill" {
		return proc.Key{PID: o.TGID, StartTicks: proc.TicksFromBootNs(o.StartNs)}
	}
	return proc.KeyFromBootNs(o.TGID, o.StartNs)
}
