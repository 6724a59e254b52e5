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

// Settler keeps a stream's label steady as evidence grows.
type Settler struct {
	current   Result
	candidate string
	wins      int
}

// Update offers the latest result and returns the label to show.
func (s *Settler) Update(r Result) Result {
	switch {
	case r.Label == "":
		return s.current
	case s.current.Label == "" || r.Label == s.current.Label || s.current.Confidence < provisional ||
		reasonRank[r.Reason] > reasonRank[s.current.Reason]:
		s.current, s.candidate, s.wins = r, "", 0
		return r
	}
	if r.Label == s.candidate {
		s.wins++
	} else {
		s.candidate, s.wins = r.Label, 1
	}
	if s.wins >= confirmations {
		s.current, s.candidate, s.wins = r, "", 0
	}
	return s.current
}

// Current returns the settled result.
func (s *Settler) Current() Result { return s.current }
