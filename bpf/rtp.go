package bpf

import (
	"fmt"

	"github.com/teamsflow/teamsflow/bpf/contract"
)

// setRTPClocks gives the kernel the clock of each payload type it knows
// (contract.RTPClockRates), for jitter in time units.
func (o *Objects) setRTPClocks() error {
	for pt, rate := range contract.RTPClockRates {
		if err := o.tc.TfRtpClock.Put(uint32(pt), rate); err != nil {
			return fmt.Errorf("setting the RTP clock of payload type %d: %w", pt, err)
		}
	}
	return nil
}
