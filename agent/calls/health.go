package calls

import (
	"github.com/teamsflow/teamsflow/agent/health"
	"github.com/teamsflow/teamsflow/agent/record"
)

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

// Health judges a call from its streams' verdicts as Call Quality
// Dashboard's poor call does (health.CallVerdict): poor when any stream is
// poor, good when one is good and none poor, unknown otherwise. worst is
// nil when no stream of the call was judged.
func Health(recs []record.Record) (v health.Verdict, worst *WorstStream) {
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
