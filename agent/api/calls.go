package api

import (
	"sort"
	"time"

	"github.com/teamsflow/teamsflow/agent/calls"
	"github.com/teamsflow/teamsflow/agent/record"
)

// Call sums up the streams that share a call_id.
type Call struct {
	CallID    string         `json:"call_id"`
	App       string         `json:"app"`
	PID       uint32         `json:"pid,omitempty"`
	Comm      string         `json:"comm,omitempty"`
	FirstSeen time.Time      `json:"first_seen"`
	LastSeen  time.Time      `json:"last_seen"`
	Streams   int            `json:"streams"`
	Labels    map[string]int `json:"labels"` // streams per label
	Relayed   bool           `json:"relayed"`
	BytesSent uint64         `json:"bytes_sent"`
	BytesRecv uint64         `json:"bytes_recv"`
	// The call's verdict by Call Quality Dashboard's thresholds (a poor
	// stream makes a poor call; reasons name the stream) and its worst
	// stream; absent before any stream was judged.
	Quality        string             `json:"quality,omitempty"`
	QualityReasons []string           `json:"quality_reasons,omitempty"`
	WorstStream    *calls.WorstStream `json:"worst_stream,omitempty"`
}

// Calls groups records by call_id, oldest call first. Records without a
// call are left out.
func Calls(recs []record.Record) []Call {
	byID := map[string]*Call{}
	members := map[string][]record.Record{}
	var order []*Call
	for _, r := range recs {
		if r.CallID == "" {
			continue
		}
		c := byID[r.CallID]
		if c == nil {
			c = &Call{CallID: r.CallID, App: r.App, PID: r.PID, Comm: r.Comm, FirstSeen: r.FirstSeen,
				LastSeen: r.LastSeen, Labels: map[string]int{}}
			byID[r.CallID] = c
			order = append(order, c)
		}
		c.Streams++
		members[r.CallID] = append(members[r.CallID], r)
		c.Labels[r.Label]++
		c.Relayed = c.Relayed || r.Relayed
		c.BytesSent += r.BytesSent
		c.BytesRecv += r.BytesRecv
		if r.FirstSeen.Before(c.FirstSeen) {
			c.FirstSeen = r.FirstSeen
		}
		if r.LastSeen.After(c.LastSeen) {
			c.LastSeen = r.LastSeen
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].FirstSeen.Before(order[j].FirstSeen) })
	out := make([]Call, len(order))
	for i, c := range order {
		out[i] = *c
		if v, worst := calls.Health(members[c.CallID]); worst != nil {
			out[i].Quality, out[i].QualityReasons, out[i].WorstStream = v.Quality, v.Reasons, worst
		}
	}
	return out
}
