package bpf

import "fmt"

// RTPDefaultClock is the RTP clock of payload types not in RTPClockRates:
// the 90 kHz video clock.
const RTPDefaultClock = 90000

// RTPClockRates are the RTP clocks in Hz of the audio payload types teamsflow
// knows, for jitter in time units. Static types per RFC 3551; dynamic ones
// as Teams and WebRTC clients negotiate them (SILK narrow/wide band, Opus).
var RTPClockRates = map[uint8]uint32{
	0: 8000, 8: 8000, 9: 8000, 13: 8000, 18: 8000, // PCMU, PCMA, G722, CN, G729
	103: 8000,  // SILK narrowband (Teams)
	104: 16000, // SILK wideband (Teams)
	111: 48000, // Opus (WebRTC)
}

// RTPClock is the clock rate the kernel uses for a payload type.
func RTPClock(pt uint8) uint32 {
	if r, ok := RTPClockRates[pt]; ok {
		return r
	}
	return RTPDefaultClock
}

func (o *Objects) setRTPClocks() error {
	for pt, rate := range RTPClockRates {
		if err := o.tc.TfRtpClock.Put(uint32(pt), rate); err != nil {
			return fmt.Errorf("setting the RTP clock of payload type %d: %w", pt, err)
		}
	}
	return nil
}
