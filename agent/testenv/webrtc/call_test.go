package webrtc

import (
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"
)

// A short call with camera, microphone and a late screen share carries
// media both ways on every mid, and the page's stats, the peer and the
// pcap of the client veth all say so.
func TestCallCarriesMediaBothWays(t *testing.T) {
	env := NewEnv(t, fmt.Sprintf("tfh%d", os.Getpid()%100000))
	call := env.Start(t, Scenario{Name: "smoke", Duration: 8 * time.Second, Page: url.Values{"share_start": {"2"}}})
	tr := call.Wait(t)
	t.Logf("truth:\n%s", tr.Describe())
	for _, label := range []string{"audio", "video", "screenshare"} {
		for _, dir := range []string{Sent, Recv} {
			found := false
			for _, s := range tr.Streams {
				if s.Label == label && s.Direction == dir && s.Role == RoleMedia && s.Packets >= 20 {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s %s stream with at least 20 packets", dir, label)
			}
		}
	}
	if len(tr.PeerSent) != 3 {
		t.Errorf("the peer sends on %d mids, want 3: %+v", len(tr.PeerSent), tr.PeerSent)
	}
	if tr.PcapPackets < 500 {
		t.Errorf("%d packets in the client veth's pcap, want the call's", tr.PcapPackets)
	}
	if tr.PairRTTMs <= 0 || tr.PairTypes == "" {
		t.Errorf("no selected candidate pair: rtt %v, types %q", tr.PairRTTMs, tr.PairTypes)
	}
}
