package sockets

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestTCPRTTThroughDelayLine runs a real TCP connection through the delay
// line and checks the kernel's smoothed RTT, read through sock_diag in each
// namespace, against the delay added: within max(5 ms, 20%).
func TestTCPRTTThroughDelayLine(t *testing.T) {
	for _, delay := range []time.Duration{10 * time.Millisecond, 40 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			d := testenv.NewDelayLine(t, delay)
			cli, srv := pingPong(t, d, 30)
			want := 2 * delay
			tol := max(5*time.Millisecond, want/5)
			var cookies []uint64
			for _, side := range []struct {
				name        string
				path        string
				local, peer net.Addr
			}{
				{"client", d.A.Path(), cli.LocalAddr(), cli.RemoteAddr()},
				{"server", d.B.Path(), srv.LocalAddr(), srv.RemoteAddr()},
			} {
				got := findRTT(t, side.path, side.local, side.peer)
				t.Logf("%s: added %v, kernel srtt %v (rttvar %v, min %v)", side.name, want, got.RTT, got.RTTVar, got.MinRTT)
				if diff := got.RTT - want; diff < -tol || diff > tol {
					t.Errorf("%s: srtt %v, want %v ± %v", side.name, got.RTT, want, tol)
				}
				if got.Cookie == 0 || got.NetnsCookie == 0 || got.State != 1 {
					t.Errorf("%s: cookie %d, netns cookie %d, state %d", side.name, got.Cookie, got.NetnsCookie, got.State)
				}
				cookies = append(cookies, got.Cookie)
			}
			byCookie, err := TCPRTTsByCookie([]string{d.A.Path(), d.B.Path(), "/run/netns/tf-no-such-namespace"})
			if err == nil || !strings.Contains(err.Error(), "tf-no-such-namespace") {
				t.Errorf("a namespace that is gone: error %v", err)
			}
			for _, c := range cookies {
				if r, ok := byCookie[c]; !ok || r.RTT < want-tol {
					t.Errorf("cookie %d: %+v, %v over both namespaces", c, r, ok)
				}
			}
		})
	}
}

// pingPong connects A to B through the line and exchanges n request/response
// rounds, so both kernels have RTT samples of the delayed path.
func pingPong(t *testing.T, d *testenv.DelayLine, n int) (cli, srv net.Conn) {
	t.Helper()
	var l net.Listener
	if err := d.B.Do(func() (err error) { l, err = net.Listen("tcp4", d.BIP+":0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		testenv.EchoQuickAck(c)
	}()
	if err := d.A.Do(func() (err error) { cli, err = net.Dial("tcp4", l.Addr().String()); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	srv = <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { srv.Close() })
	r := bufio.NewReader(cli)
	_ = cli.SetDeadline(time.Now().Add(30 * time.Second))
	for range n {
		if _, err := cli.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		testenv.QuickAck(cli)
	}
	return cli, srv
}

func findRTT(t *testing.T, nsPath string, local, peer net.Addr) TCPRTT {
	t.Helper()
	rtts, err := TCPRTTs(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	l, p := netip.MustParseAddrPort(local.String()), netip.MustParseAddrPort(peer.String())
	for _, r := range rtts {
		if r.Local == l && r.Peer == p {
			return r
		}
	}
	t.Fatalf("no RTT for %v → %v among %d sockets in %s", l, p, len(rtts), nsPath)
	return TCPRTT{}
}

// TestTCPRTTLeavesOutUnmeasured checks that a listening socket, which has no
// round trip, is not reported with 0.
func TestTCPRTTLeavesOutUnmeasured(t *testing.T) {
	d := testenv.NewDelayLine(t, time.Millisecond)
	var l net.Listener
	if err := d.B.Do(func() (err error) { l, err = net.Listen("tcp4", d.BIP+":0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rtts, err := TCPRTTs(d.B.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rtts {
		if r.RTT == 0 || r.Local.String() == l.Addr().String() {
			t.Errorf("reported a socket without a round trip: %+v", r)
		}
	}
}
