package analysis_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// A capture of a call whose ICE consent checks are answered in 35 ms gives
// the media flow's records that round trip in `analyze` as live: the
// capture-file source hands the checks to the pipeline as STUN samples,
// bare and inside TURN ChannelData.
func TestSTUNRoundTripFromACapture(t *testing.T) {
	var w wire
	w.opus(true, 0xA1, 111, 100, 5000, 0, 12*time.Second)
	w.opus(false, 0xB2, 111, 900, 7000, 0, 12*time.Second)
	for i := range 6 {
		at := time.Duration(i)*2*time.Second + 500*time.Millisecond
		req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
		resp := stun.MustBuild(req, stun.BindingSuccess, stun.Fingerprint)
		reqRaw, respRaw := req.Raw, resp.Raw
		if i%2 == 1 { // every other check relayed: TURN ChannelData 0x4001
			reqRaw, respRaw = pkt.ChannelData(0x4001, reqRaw, false), pkt.ChannelData(0x4001, respRaw, false)
		}
		w.send(at, true, reqRaw)
		w.send(at+35*time.Millisecond, false, respRaw)
	}
	p, rs := w.analyse(t, analysis.Config{})
	if c := p.Counters().STUN; c.Samples != 6 {
		t.Errorf("STUN samples matched %d, want 6 (counters %+v)", c.Samples, c)
	}
	n := 0
	for _, r := range rs {
		if r.LocalPort != hostA.Port() || r.PeerPort != peerB.Port() {
			continue
		}
		n++
		if r.RTTMs == nil || *r.RTTMs < 34.9 || *r.RTTMs > 35.1 {
			ssrc := uint32(0)
			if r.SSRC != nil {
				ssrc = *r.SSRC
			}
			t.Errorf("%s ssrc %#x: rtt_ms %v, want 35", r.Label, ssrc, ptrText(r.RTTMs))
		}
	}
	if n < 3 {
		t.Errorf("%d records of the media flow, want its own and one per direction", n)
	}
}

func ptrText(v *float64) string {
	if v == nil {
		return "absent"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}
