package stunrtt

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

var t0 = time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)

// msg builds a real STUN message with pion/stun, as a Teams or WebRTC client
// sends it (attributes included: only the header is read).
func msg(t *testing.T, typ stun.MessageType, id [12]byte) []byte {
	t.Helper()
	m, err := stun.Build(typ, stun.NewTransactionIDSetter(id), stun.NewSoftware("test"), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

func id(n byte) [12]byte { return [12]byte{11: n, 0: 0xAB} }

var (
	request = stun.BindingRequest
	success = stun.BindingSuccess
	failure = stun.BindingError
)

type step struct {
	dir Direction
	ms  int // time after t0
	typ stun.MessageType
	id  byte
}

func run(t *testing.T, m *Matcher[int], flow int, steps []step) {
	t.Helper()
	for _, s := range steps {
		if err := m.Observe(flow, s.dir, t0.Add(time.Duration(s.ms)*time.Millisecond), msg(t, s.typ, id(s.id))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRFC6298Smoothing(t *testing.T) {
	m := New[int](0)
	run(t, m, 1, []step{
		{Egress, 0, request, 1}, {Ingress, 80, success, 1}, // 80 ms
		{Egress, 1000, request, 2}, {Ingress, 1160, success, 2}, // 160 ms
		{Egress, 2000, request, 3}, {Ingress, 2040, failure, 3}, // 40 ms, an error response is a round trip too
	})
	e, ok := m.RTT(1)
	if !ok {
		t.Fatal("no estimate")
	}
	// SRTT: 80; then 7/8*80 + 160/8 = 90; then 7/8*90 + 40/8 = 83.75.
	// RTTVAR: 40; then 3/4*40 + |80-160|/4 = 50; then 3/4*50 + |90-40|/4 = 50.
	want := Estimate{Smoothed: 83750 * time.Microsecond, Var: 50 * time.Millisecond,
		Latest: 40 * time.Millisecond, Min: 40 * time.Millisecond, Samples: 3}
	if e != want {
		t.Errorf("estimate %+v, want %+v", e, want)
	}
	if c := m.Counters(); c.Samples != 3 || c.ErrorResponses != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestNoSampleFromBadInput(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  Counters
	}{
		{"response without request", []step{{Ingress, 10, success, 1}}, Counters{Unmatched: 1}},
		{"response to another id", []step{{Egress, 0, request, 1}, {Ingress, 10, success, 2}}, Counters{Unmatched: 1}},
		{"duplicated response", []step{{Egress, 0, request, 1}, {Ingress, 10, success, 1}, {Ingress, 12, success, 1}},
			Counters{Samples: 1, Duplicates: 1}},
		{"late response", []step{{Egress, 0, request, 1}, {Ingress, 5001, success, 1}, {Ingress, 5002, success, 1}},
			Counters{Late: 2}},
		{"retransmitted request", []step{{Egress, 0, request, 1}, {Egress, 500, request, 1}, {Ingress, 520, success, 1}},
			Counters{Retransmitted: 1}},
		{"reused id", []step{{Egress, 0, request, 1}, {Ingress, 10, success, 1}, {Egress, 100, request, 1}, {Ingress, 110, success, 1}},
			Counters{Samples: 1, ReusedIDs: 1, Retransmitted: 1}},
		{"response before its request", []step{{Egress, 100, request, 1}, {Ingress, 90, success, 1}}, Counters{BadTime: 1}},
		{"peer's check and our answer", []step{{Ingress, 0, request, 1}, {Egress, 1, success, 1}}, Counters{PeerRequests: 1}},
		{"response in the wrong direction", []step{{Egress, 0, request, 1}, {Egress, 10, success, 1}}, Counters{}},
		{"other method", []step{{Egress, 0, stun.NewType(stun.MethodAllocate, stun.ClassRequest), 1}}, Counters{OtherMethods: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New[int](0)
			run(t, m, 7, c.steps)
			if got := m.Counters(); got != c.want {
				t.Errorf("counters %+v, want %+v", got, c.want)
			}
			if e, ok := m.RTT(7); ok && e.Samples != c.want.Samples {
				t.Errorf("estimate from %d samples, want %d", e.Samples, c.want.Samples)
			}
		})
	}
}

func TestFlowsAreApart(t *testing.T) {
	m := New[string](0)
	if err := m.Observe("a", Egress, t0, msg(t, request, id(1))); err != nil {
		t.Fatal(err)
	}
	if err := m.Observe("b", Ingress, t0.Add(time.Millisecond), msg(t, success, id(1))); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.RTT("a"); ok {
		t.Error("flow a got a sample from flow b's response")
	}
	if c := m.Counters(); c.Unmatched != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestNotSTUN(t *testing.T) {
	m := New[int](0)
	good := msg(t, request, id(1))
	rtp := []byte{0x80, 0x6f, 0, 1, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0}
	noCookie := append([]byte(nil), good...)
	noCookie[4] = 0
	oddLen := append([]byte(nil), good...)
	oddLen[3] = 3
	for _, b := range [][]byte{good[:19], rtp, noCookie, oddLen, nil} {
		if err := m.Observe(1, Egress, t0, b); !errors.Is(err, ErrNotSTUN) {
			t.Errorf("%x: err %v, want ErrNotSTUN", b, err)
		}
	}
	if c := m.Counters(); c.NotSTUN != 5 || c.Samples != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestExpireAndBounds(t *testing.T) {
	m := New[int](time.Second)
	for i := range maxPending + 3 {
		run(t, m, 1, []step{{Egress, i, request, byte(i)}})
	}
	if c := m.Counters(); c.Overflow != 3 {
		t.Errorf("overflow %d, want 3", c.Overflow)
	}
	m.Expire(t0.Add(1100 * time.Millisecond))
	fs := m.flows[1]
	if len(fs.pending) != 0 || len(fs.order) != 0 || len(fs.finished) > maxFinished {
		t.Errorf("after expiry: %d pending, %d ordered, %d finished", len(fs.pending), len(fs.order), len(fs.finished))
	}
	if c := m.Counters(); c.Expired != maxPending {
		t.Errorf("expired %d, want %d", c.Expired, maxPending)
	}
	// A response to an expired request is late, not a sample.
	run(t, m, 1, []step{{Ingress, 1200, success, byte(maxPending + 2)}})
	if c := m.Counters(); c.Late != 1 || c.Samples != 0 {
		t.Errorf("counters %+v", c)
	}
	m.Forget(1)
	if _, ok := m.flows[1]; ok {
		t.Error("Forget kept the flow")
	}
}

func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, true)
	f.Fuzz(func(t *testing.T, b []byte, egress bool) {
		m := New[int](0)
		dir := Ingress
		if egress {
			dir = Egress
		}
		_ = m.Observe(1, dir, t0, b)
		_ = m.Observe(1, Ingress, t0.Add(time.Millisecond), b)
		if e, ok := m.RTT(1); ok && e.Smoothed < 0 {
			t.Fatalf("negative rtt %v", e.Smoothed)
		}
	})
}
