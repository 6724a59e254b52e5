package agent

import (
	"time"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
)

// records are the agent's flows, read afresh from the kernel, as the
// analysis makes records of them: a fresh pipeline fed one snapshot of the
// whole flow table. Unlike Snapshot it neither expires flows nor takes the
// changed marks and samples that the agent's own pipeline is owed.
func records(a *Agent) []record.Record {
	if err := a.Poll(); err != nil {
		a.log.Warn().Err(err).Msg("reading flows")
	}
	snap := observe.Snapshot{Time: time.Now()}
	seen := newDescribed()
	flows := a.table.Snapshot()
	for i := range flows {
		snap.Flows = append(snap.Flows, a.observeFlow(&flows[i], seen))
	}
	p := analysis.New(analysis.Config{})
	p.Observe(snap)
	return p.Records(true)
}
