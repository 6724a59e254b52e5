package e2e

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv/webrtc"
)

// The checks below hold the truth to the scenario, so that a call that did
// not do what it was meant to (no share, no loss, another codec) fails
// instead of passing as an easier call.

func all(checks ...func(*testing.T, *webrtc.Truth)) func(*testing.T, *webrtc.Truth) {
	return func(t *testing.T, tr *webrtc.Truth) {
		for _, c := range checks {
			c(t, tr)
		}
	}
}

func wantEvents(names ...string) func(*testing.T, *webrtc.Truth) {
	return func(t *testing.T, tr *webrtc.Truth) {
		for _, n := range names {
			found := false
			for _, e := range tr.Events {
				found = found || e.What == n
			}
			if !found {
				t.Errorf("the page never did %s", n)
			}
		}
	}
}

// media is the truth's media stream of a label in a direction.
func media(tr *webrtc.Truth, dir, label string) (webrtc.Stream, bool) {
	for _, s := range tr.Streams {
		if s.Direction == dir && s.Label == label && s.Role == webrtc.RoleMedia {
			return s, true
		}
	}
	return webrtc.Stream{}, false
}

func wantSent(labels ...string) func(*testing.T, *webrtc.Truth) {
	return func(t *testing.T, tr *webrtc.Truth) {
		for _, l := range labels {
			if s, ok := media(tr, webrtc.Sent, l); !ok || s.Packets == 0 {
				t.Errorf("the client sent no %s", l)
			}
		}
	}
}

// wantDTX: with the microphone muted for most of the call and DTX asked
// for, the client sent far fewer audio packets than 50 a second.
func wantDTX(t *testing.T, tr *webrtc.Truth) {
	s, ok := media(tr, webrtc.Sent, "audio")
	if !ok {
		t.Fatal("no sent audio in the truth")
	}
	full := uint64(50 * 24)
	if s.Packets == 0 || s.Packets > full/2 {
		t.Errorf("sent audio: %d packets, want DTX to send fewer than %d", s.Packets, full/2)
	}
}

// wantRetransmissions: the peer dropped RTP both ways and the client
// repaired what it sent with RTX.
func wantRetransmissions(t *testing.T, tr *webrtc.Truth) {
	if tr.DroppedIn == 0 || tr.DroppedOut == 0 {
		t.Errorf("the peer dropped %d/%d RTP packets, want both ways", tr.DroppedIn, tr.DroppedOut)
	}
	rtx := uint64(0)
	for _, s := range tr.Streams {
		if s.Direction == webrtc.Sent && s.Role == webrtc.RoleRTX {
			rtx += s.Packets
		}
	}
	if rtx == 0 {
		t.Error("the client retransmitted nothing on its RTX streams")
	}
}

func wantCodec(mime string) func(*testing.T, *webrtc.Truth) {
	return func(t *testing.T, tr *webrtc.Truth) {
		for _, l := range []string{"video", "screenshare"} {
			if s, ok := media(tr, webrtc.Sent, l); !ok || s.Codec != mime {
				t.Errorf("sent %s codec %q, want %s", l, s.Codec, mime)
			}
		}
	}
}
