package api

import (
	"sort"
	"time"

	"github.com/teamsflow/teamsflow/agent/health"
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
	Quality        string       `json:"quality,omitempty"`
	QualityReasons []string     `json:"quality_reasons,omitempty"`
	WorstStream    *WorstStream `json:"worst_stream,omitempty"`
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
		if v, worst := CallHealth(members[c.CallID]); worst != nil {
			out[i].Quality, out[i].QualityReasons, out[i].WorstStream = v.Quality, v.Reasons, worst
		}
	}
	return out
}

// WorstStream is the stream that decides a call's verdict: a poor one
// (the lowest MOS, then the most reasons), else the good one with the
// lowest MOS, else any judged one.
type WorstStream struct {
	StreamID string   `json:"stream_id"`
	Label    string   `json:"label"`
	Covers   string   `json:"quality_covers,omitempty"` // the direction judged: sent or received
	SSRC     *uint32  `json:"ssrc,omitempty"`
	Quality  string   `json:"quality"`
	Reasons  []string `json:"quality_reasons,omitempty"`
	MOS      *float64 `json:"mos,omitempty"`
}

// CallHealth judges a call from its streams' verdicts as Call Quality
// Dashboard's poor call does (health.CallVerdict): poor when any stream is
// poor, good when one is good and none poor, unknown otherwise. worst is
// nil when no stream of the call was judged.
func CallHealth(recs []record.Record) (v health.Verdict, worst *WorstStream) {
	var verdicts []health.Verdict
	var best *record.Record
	for i := range recs {
		r := &recs[i]
		if r.Quality == "" {
			continue
		}
		verdicts = append(verdicts, health.Verdict{Label: r.Label, Covers: health.Direction(r.QualityCovers),
			Quality: r.Quality, Reasons: r.QualityReasons})
		if best == nil || worse(r, best) {
			best = r
		}
	}
	v = health.CallVerdict(verdicts)
	if best != nil {
		worst = &WorstStream{StreamID: best.StreamID, Label: best.Label, Covers: best.QualityCovers, SSRC: best.SSRC,
			Quality: best.Quality, Reasons: best.QualityReasons, MOS: best.MOS}
	}
	return v, worst
}

var qualityRank = map[string]int{health.Poor: 0, health.Good: 1, health.Unknown: 2}

// worse says whether a is a worse stream than b.
func worse(a, b *record.Record) bool {
	if qualityRank[a.Quality] != qualityRank[b.Quality] {
		return qualityRank[a.Quality] < qualityRank[b.Quality]
	}
	if (a.MOS != nil) != (b.MOS != nil) {
		return a.MOS != nil
	}
	if a.MOS != nil && *a.MOS != *b.MOS {
		return *a.MOS < *b.MOS
	}
	return len(a.QualityReasons) > len(b.QualityReasons)
}
