package health

import "math"

// The E-model (ITU-T G.107) estimates a listener's mean opinion score from
// the network alone. Every term not measured here keeps G.107's default
// (Table 3: no background noise, echo cancelled with TELR 65 dB, standard
// loudness ratings), under which the basic signal-to-noise ratio less the
// simultaneous impairments, Ro - Is, is 93.2 and the advantage factor A is 0.
// What the network changes is the delay impairment Id (through Idd, the
// absolute-delay term) and the effective equipment impairment Ie-eff (through
// packet loss).
const (
	emodelBase = 93.2 // Ro - Is with G.107's defaults

	// frameMs is the packetisation delay added to the one-way delay: Teams'
	// and WebRTC's audio codecs send 20 ms frames.
	frameMs = 20.0
	// jitterBufferFactor sizes the receiver's jitter buffer as twice the
	// RFC 3550 interarrival jitter: a buffer as deep as two mean deviations
	// holds back almost every late packet, and its depth is delay the
	// listener hears.
	jitterBufferFactor = 2.0
	// burstR is the burst ratio; 1 is random loss, all a loss counter of
	// sequence gaps can tell.
	burstR = 1.0
)

// MOSInput is what the network MOS of a received audio stream needs.
type MOSInput struct {
	Codec    string  // as Codec names it; decides Ie and Bpl
	LossRate float64 // fraction of packets lost, 0..1
	JitterMs float64 // RFC 3550 interarrival jitter
	// RTTMs is the round-trip time; nil counts as no network delay, which
	// makes the estimate an upper bound.
	RTTMs *float64
}

// OneWayDelayMs is the E-model's absolute delay Ta: half the round trip, plus
// the jitter buffer, plus one codec frame.
func OneWayDelayMs(in MOSInput) float64 {
	rtt := 0.0
	if in.RTTMs != nil {
		rtt = *in.RTTMs
	}
	return rtt/2 + jitterBufferFactor*in.JitterMs + frameMs
}

// DelayImpairment is G.107's Idd for an absolute one-way delay Ta in ms
// (§7.3, formula 7-28); delays of 100 ms or less impair nothing.
func DelayImpairment(ta float64) float64 {
	if ta <= 100 {
		return 0
	}
	x := math.Log2(ta / 100)
	return 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
}

// EffectiveEquipmentImpairment is G.107's Ie-eff (§7.4, formula 7-29) for a
// codec at a packet-loss probability in percent.
func EffectiveEquipmentImpairment(codec string, lossPercent float64) float64 {
	imp := codecImpairment(codec)
	return imp.Ie + (95-imp.Ie)*lossPercent/(lossPercent/burstR+imp.Bpl)
}

// RFactor is the transmission rating R for a received audio stream.
func RFactor(in MOSInput) float64 {
	loss := math.Min(math.Max(in.LossRate, 0), 1) * 100
	return emodelBase - DelayImpairment(OneWayDelayMs(in)) - EffectiveEquipmentImpairment(in.Codec, loss)
}

// MOSFromR is G.107's conversion of R to an estimated mean opinion score
// (Annex B, formula B-4).
func MOSFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}

// NetworkMOS is the estimated narrowband network MOS of a received audio
// stream (the record's `mos`).
func NetworkMOS(in MOSInput) float64 { return MOSFromR(RFactor(in)) }

// MOSDegradation is how far the network pulls the MOS below what the codec
// gives on a perfect network (no loss, no jitter, no round trip): the
// quantity behind Call Quality Dashboard's "Audio Degradation Avg".
func MOSDegradation(in MOSInput) float64 {
	best := MOSFromR(RFactor(MOSInput{Codec: in.Codec}))
	return best - NetworkMOS(in)
}
