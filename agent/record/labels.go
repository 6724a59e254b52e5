package record

import "slices"

// Stream labels (Record.Label), in the order an admin reads a call's
// streams: control first, then media. This is the one list of them: the
// classifier gives these, the records and the stream table sort by this
// order, and the exporter's metrics accept only these.
const (
	LabelSignalling  = "signalling"
	LabelDNS         = "dns"
	LabelSTUN        = "stun"
	LabelTURN        = "turn"
	LabelDTLS        = "dtls"
	LabelAudio       = "audio"
	LabelVideo       = "video"
	LabelScreenshare = "screenshare"
	LabelRTCP        = "rtcp"
	LabelOther       = "other"
)

var labels = [...]string{LabelSignalling, LabelDNS, LabelSTUN, LabelTURN, LabelDTLS,
	LabelAudio, LabelVideo, LabelScreenshare, LabelRTCP, LabelOther}

// Labels returns every label, in reading order.
func Labels() []string { return slices.Clone(labels[:]) }

// LabelRank is a label's place in reading order; an empty or unknown label
// comes after all of them.
func LabelRank(label string) int {
	if i := slices.Index(labels[:], label); i >= 0 {
		return i
	}
	return len(labels)
}
