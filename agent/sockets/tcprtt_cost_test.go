package sockets

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestTCPRTTReadCost times one read of the round trips of 1000 TCP sockets
// (500 connections over loopback in a namespace of its own), the cost the
// agent pays each time it refreshes them, and checks that each one is read.
// It logs the figure; the bound only catches a read that went quadratic.
func TestTCPRTTReadCost(t *testing.T) {
	testenv.RequirePrivileged(t)
	ns, err := netns.Create(fmt.Sprintf("tfrttc-%d", os.Getpid()%100000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Delete() })
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err = ns.Do(func() error {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		for range 500 {
			c, err := net.Dial("tcp4", l.Addr().String())
			if err != nil {
				return err
			}
			s, err := l.Accept()
			if err != nil {
				return err
			}
			conns = append(conns, c, s)
			// One exchange each way, so every socket has measured a round trip.
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
			if _, err := s.Read(make([]byte, 1)); err != nil {
				return err
			}
			if _, err := s.Write([]byte("y")); err != nil {
				return err
			}
			if _, err := c.Read(make([]byte, 1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var best time.Duration
	var n int
	for i := range 5 {
		start := time.Now()
		rtts, err := TCPRTTsByCookie([]string{ns.Path()})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || took < best {
			best = took
		}
		n = len(rtts)
	}
	t.Logf("one read of %d TCP sockets' round trips: %v (best of 5)", n, best)
	if n != 1000 {
		t.Errorf("%d sockets read, want 1000", n)
	}
	if best > time.Second {
		t.Errorf("one read took %v", best)
	}
}
