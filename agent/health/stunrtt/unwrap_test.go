package stunrtt

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

func indication(t *testing.T, method stun.Method, inner []byte) []byte {
	t.Helper()
	peer := &stun.XORMappedAddress{IP: []byte{52, 115, 62, 17}, Port: 3479}
	m := stun.MustBuild(stun.TransactionID, stun.NewType(method, stun.ClassIndication))
	if err := peer.AddToAs(m, stun.AttrXORPeerAddress); err != nil {
		t.Fatal(err)
	}
	m.Add(stun.AttrData, inner)
	m.WriteHeader()
	return m.Raw
}

// Checks relayed through TURN give samples like bare ones: a Send indication
// out and a Data indication back, or ChannelData both ways (padded as over
// TCP); relayed RTP is counted, not an error.
func TestRelayedChecks(t *testing.T) {
	m := New[int](0)
	req1, resp1 := msg(t, request, id(1)), msg(t, success, id(1))
	req2, resp2 := msg(t, request, id(2)), msg(t, success, id(2))
	rtp := []byte{0x80, 0x6f, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	steps := []struct {
		dir Direction
		ms  int
		b   []byte
	}{
		{Egress, 0, indication(t, stun.MethodSend, req1)},
		{Ingress, 70, indication(t, stun.MethodData, resp1)},
		{Egress, 1000, pkt.ChannelData(0x4001, req2, true)},
		{Ingress, 1090, pkt.ChannelData(0x4001, resp2, true)},
		{Egress, 1100, pkt.ChannelData(0x4001, rtp, false)},
		{Ingress, 1110, indication(t, stun.MethodData, rtp)},
	}
	for _, s := range steps {
		if err := m.Observe(1, s.dir, t0.Add(time.Duration(s.ms)*time.Millisecond), s.b); err != nil {
			t.Fatal(err)
		}
	}
	e, ok := m.RTT(1)
	if !ok || e.Samples != 2 || e.Latest != 90*time.Millisecond || e.Min != 70*time.Millisecond {
		t.Errorf("estimate %+v", e)
	}
	if c := m.Counters(); c.Relayed != 4 || c.RelayedMedia != 2 || c.NotSTUN != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestRelayedSampleCutShort(t *testing.T) {
	// A bounded packet sample ends inside DATA: the check's header is there.
	full := indication(t, stun.MethodSend, msg(t, request, id(3)))
	inner, wrapped, err := unwrap(full[:20+12+4+20])
	if err != nil || !wrapped || len(inner) != 20 {
		t.Fatalf("unwrap of a cut sample: %d bytes, %v, %v", len(inner), wrapped, err)
	}
	if _, _, err := parseHeader(inner); err != nil {
		t.Error(err)
	}
	// An indication whose sample ends before DATA is an error, counted.
	m := New[int](0)
	if err := m.Observe(1, Egress, t0, full[:20+12]); !errors.Is(err, ErrNotSTUN) {
		t.Errorf("indication without DATA: %v", err)
	}
}
