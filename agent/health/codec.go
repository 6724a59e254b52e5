package health

import "strconv"

// Stack is the media stack that sent a stream, which decides how its dynamic
// RTP payload types (96-127) read: they are bound per session by SDP, and only
// a few stacks use fixed numbers for them.
type Stack int

// Media stacks.
const (
	// StackUnknown: only the static RFC 3551 types are named.
	StackUnknown Stack = iota
	// StackTeams is Microsoft's own media stack (the Teams desktop client and
	// the Skype for Business heritage), whose SDP binds SILK to 103 and 104.
	StackTeams
	// StackWebRTC is a browser or Electron WebRTC stack (Teams in Edge or
	// Chrome, teams-for-linux), which offers Opus as 111.
	StackWebRTC
)

// staticCodecs are RFC 3551's static payload types (table 4 and 5), the ones a
// payload type alone names without SDP. 1, 2 and 19 are reserved.
var staticCodecs = map[uint8]string{
	0: "PCMU", 3: "GSM", 4: "G723", 5: "DVI4", 6: "DVI4", 7: "LPC", 8: "PCMA",
	9: "G722", 10: "L16", 11: "L16", 12: "QCELP", 13: "CN", 14: "MPA", 15: "G728",
	16: "DVI4", 17: "DVI4", 18: "G729",
	25: "CelB", 26: "JPEG", 28: "nv", 31: "H261", 32: "MPV", 33: "MP2T", 34: "H263",
}

// Codec names the codec of an RTP payload type (the record's `codec`) where
// the number alone says it: a static RFC 3551 type, SILK (103 narrowband, 104
// wideband) from the Teams stack, Opus (111) from a WebRTC stack. Any other
// dynamic type is "dynamic:NN" and an unassigned one "unassigned:NN": naming
// them would be a guess, since SDP binds them per session.
func Codec(pt uint8, stack Stack) string {
	if name, ok := staticCodecs[pt]; ok {
		return name
	}
	switch {
	case stack == StackTeams && (pt == 103 || pt == 104):
		return "SILK"
	case stack == StackWebRTC && pt == 111:
		return "opus"
	case pt >= 96 && pt <= 127:
		return "dynamic:" + strconv.Itoa(int(pt))
	}
	return "unassigned:" + strconv.Itoa(int(pt))
}

// impairment is a codec's equipment impairment factor Ie and packet-loss
// robustness factor Bpl for the E-model (ITU-T G.107 §7.4).
type impairment struct {
	Ie, Bpl float64
	Source  string // where the values come from, for the README table
}

// codecImpairments holds ITU-T G.113 Appendix I's narrowband values for the
// codecs listed there. G.711 uses the "with packet loss concealment" row:
// every WebRTC receiver (NetEq) and the Teams stack conceal lost G.711 frames.
var codecImpairments = map[string]impairment{
	"PCMU": {Ie: 0, Bpl: 25.1, Source: "G.113 App. I, G.711 with PLC"},
	"PCMA": {Ie: 0, Bpl: 25.1, Source: "G.113 App. I, G.711 with PLC"},
	"G729": {Ie: 11, Bpl: 19.0, Source: "G.113 App. I, G.729A + VAD"},
	"G723": {Ie: 15, Bpl: 16.1, Source: "G.113 App. I, G.723.1 6.3 kbit/s + VAD"},
}

// modernCodec is the assumption for Opus, SILK and audio codecs not listed in
// G.113 Appendix I (which predates Opus and does not list SILK): both run at
// toll quality or better at the bitrates Teams uses and conceal losses
// themselves, so they get G.711-with-PLC's narrowband values (Ie 0, Bpl 25.1).
// This is a stated assumption, not an ITU figure; it makes the estimate a
// narrowband network MOS, the scale Call Quality Dashboard's NMOS uses too.
var modernCodec = impairment{Ie: 0, Bpl: 25.1, Source: "assumed: as G.711 with PLC"}

func codecImpairment(codec string) impairment {
	if imp, ok := codecImpairments[codec]; ok {
		return imp
	}
	return modernCodec
}
