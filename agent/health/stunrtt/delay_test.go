package stunrtt

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestRTTThroughDelayLine runs real ICE-style checks (pion's STUN Binding
// requests and success responses over UDP) through the delay line and feeds
// the packets, stamped as they leave and arrive, to the matcher: its lowest
// sample must be the added delay within max(5 ms, 20%), its smoothed RTT
// within as much of the round trips the application timed.
func TestRTTThroughDelayLine(t *testing.T) {
	const oneWay = 30 * time.Millisecond
	d := testenv.NewDelayLine(t, oneWay)
	srv := stunResponder(t, d)
	var cli *net.UDPConn
	if err := d.A.Do(func() (err error) { cli, err = net.DialUDP("udp4", nil, srv); return err }); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	m := New[string](0)
	buf := make([]byte, 1500)
	var seen []time.Duration // what the application itself timed
	for range 10 {
		req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
		// Timed before the write: the write itself may take longer than
		// the line's delay is precise, and a round trip never starts later.
		sent := time.Now()
		if _, err := cli.Write(req.Raw); err != nil {
			t.Fatal(err)
		}
		if err := m.Observe("flow", Egress, sent, req.Raw); err != nil {
			t.Fatal(err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := cli.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got := time.Now()
		seen = append(seen, got.Sub(sent))
		if err := m.Observe("flow", Ingress, got, buf[:n]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e, ok := m.RTT("flow")
	want := 2 * oneWay
	tol := max(5*time.Millisecond, want/5)
	slices.Sort(seen)
	median := seen[len(seen)/2]
	t.Logf("added %v; timed by the application %v; STUN rtt smoothed %v, min %v over %d samples",
		want, seen, e.Smoothed, e.Min, e.Samples)
	// Each sample is a real round trip, never shorter than the line's delay;
	// the smallest is the line itself. The smoothed value follows what the
	// application saw, which on a loaded machine includes scheduling delay.
	if !ok || e.Samples != 10 {
		t.Fatalf("estimate %+v, want 10 samples", e)
	}
	if e.Min < want || e.Min > want+tol {
		t.Errorf("min rtt %v, want %v to %v", e.Min, want, want+tol)
	}
	if e.Smoothed < median-tol || e.Smoothed > median+tol {
		t.Errorf("smoothed rtt %v, want within %v of the median round trip %v", e.Smoothed, tol, median)
	}
}

// stunResponder answers Binding requests in namespace B, as an ICE peer does.
func stunResponder(t *testing.T, d *testenv.DelayLine) *net.UDPAddr {
	t.Helper()
	var conn *net.UDPConn
	err := d.B.Do(func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(d.BIP)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil {
				continue
			}
			resp := stun.MustBuild(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: from.IP, Port: from.Port}, stun.Fingerprint)
			_, _ = conn.WriteToUDP(resp.Raw, from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr)
}
