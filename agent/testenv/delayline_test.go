package testenv

import (
	"net"
	"slices"
	"testing"
	"time"
)

// TestDelayLineDelays measures UDP echoes through the line in user space:
// each round trip must take the two one-way delays, give or take the
// scheduler, so tests that compare measured RTTs with it can trust it.
func TestDelayLineDelays(t *testing.T) {
	const delay = 20 * time.Millisecond
	d := NewDelayLine(t, delay)
	var srv *net.UDPConn
	err := d.B.Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(d.BIP), Port: 0})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDP(buf[:n], from)
		}
	}()
	var cli *net.UDPConn
	err = d.A.Do(func() (err error) {
		cli, err = net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for range 10 {
		start := time.Now()
		if _, err := cli.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := cli.Read(buf); err != nil {
			t.Fatalf("echo through the delay line: %v", err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	median := rtts[len(rtts)/2]
	t.Logf("added %v each way; echo round trips %v (median %v); %d of 4 forwarding threads real-time",
		delay, rtts, median, d.Realtime.Load())
	if rtts[0] < 2*delay {
		t.Errorf("a round trip of %v is shorter than the two delays (%v)", rtts[0], 2*delay)
	}
	if median > 2*delay+5*time.Millisecond {
		t.Errorf("median round trip %v, want within 5 ms of %v", median, 2*delay)
	}
	if d.Forwarded.Load() < 20 || d.Overflowed.Load() != 0 {
		t.Errorf("forwarded %d, overflowed %d", d.Forwarded.Load(), d.Overflowed.Load())
	}
}
