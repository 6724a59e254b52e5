package health

import "github.com/teamsflow/teamsflow/agent/record"

// DSCP code points of Microsoft's QoS policy for Teams media
// (learn.microsoft.com "Implement Quality of Service (QoS) in Microsoft Teams").
const (
	DSCPAudio       = 46 // EF
	DSCPVideo       = 34 // AF41
	DSCPScreenshare = 18 // AF21
)

// DSCPExpected is the DSCP a stream of this label should carry under that
// policy (the record's `dscp_expected`); ok is false for labels the policy
// does not mark (signalling, STUN, DNS, ...), whose field stays absent.
func DSCPExpected(label string) (dscp uint8, ok bool) {
	switch label {
	case record.LabelAudio:
		return DSCPAudio, true
	case record.LabelVideo:
		return DSCPVideo, true
	case record.LabelScreenshare:
		return DSCPScreenshare, true
	}
	return 0, false
}
