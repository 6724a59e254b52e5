package classify

// reasonRank orders reasons, strongest first.
var reasonRank = map[string]int{ReasonQoSPort: 5, ReasonRTPPT: 4, ReasonRelayPort: 3, ReasonRate: 2, ReasonProtocol: 1, ReasonNone: 0}

// confirmations is how many intervals in a row a different label from an
// equally strong or weaker reason must win before it replaces the current
// one, so that one odd interval does not flip a settled label.
const confirmations = 2

// provisional is the confidence below which a label is a first guess that
// any new result may replace (the first intervals of a stream).
const provisional = 0.8

// Settler keeps a stream's label steady as evidence grows. "No evidence"
// (an empty label or reason none) never replaces a label. Changes counts
// the times a settled label (not a first guess) was replaced.
type Settler struct {
	current   Result
	candidate string
	wins      uint8
	changes   uint32
}

// Update offers the latest result and returns the label to show.
func (s *Settler) Update(r Result) Result {
	switch {
	case r.Label == "" || (r.Reason == ReasonNone && s.current.Label != ""):
		return s.current
	case s.current.Label == "" || r.Label == s.current.Label || s.current.Confidence < provisional ||
		reasonRank[r.Reason] > reasonRank[s.current.Reason]:
		s.set(r)
		return r
	}
	if r.Label == s.candidate {
		s.wins++
	} else {
		s.candidate, s.wins = r.Label, 1
	}
	if s.wins >= confirmations {
		s.set(r)
	}
	return s.current
}

func (s *Settler) set(r Result) {
	if s.current.Label != "" && r.Label != s.current.Label && s.current.Confidence >= provisional {
		s.changes++
	}
	s.current, s.candidate, s.wins = r, "", 0
}

// Current returns the settled result.
func (s *Settler) Current() Result { return s.current }

// Changes is how often a settled label changed.
func (s *Settler) Changes() uint32 { return s.changes }

// Settled is the label once it is no longer a first guess, "" before:
// thresholds keep a band around a settled label only.
func (s *Settler) Settled() string {
	if s.current.Confidence < provisional {
		return ""
	}
	return s.current.Label
}
