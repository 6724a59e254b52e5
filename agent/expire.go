package agent

import (
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

// Expire forgets flows that have ended: out of the kernel map (Poll
// deletes entries idle for longer than the idle timeout) and silent since
// before now minus the idle timeout, and sockets closed that long ago. A
// long-running agent calls it after polling so its memory stays bounded.
// It returns the forgotten flows' final records, with end_reason set, so
// their last figures can still be exported.
func (a *Agent) Expire(now time.Time) []record.Record {
	cutoff := now.Add(-a.cfg.IdleTimeout)
	gone := a.table.Expire(a.clock.BootNs(cutoff), cutoff)
	out := make([]record.Record, 0, len(gone))
	for i := range gone {
		r := a.record(&gone[i])
		r.EndReason = "idle"
		if r.Closed {
			r.EndReason = "closed"
		}
		out = append(out, r)
	}
	return out
}
