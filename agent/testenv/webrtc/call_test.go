package webrtc

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// A short call with camera, microphone and a late screen share carries
// media both ways on every mid, and the page's stats, the peer and the
// pcap of the client veth all say so.
func TestCallCarriesMediaBothWays(t *testing.T) {
	env := NewEnv(t, fmt.Sprintf("tfh%d", os.Getpid()%100000))
	call := env.Start(t, Scenario{Name: "smoke", Duration: 8 * time.Second, Page: url.Values{"share_start": {"2"}}})
	if leaked := ownSocketsHere(t); len(leaked) > 0 {
		t.Errorf("the harness holds sockets in the test's own namespace: %v", leaked)
	}
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
	// The pair's RTT may read 0 here: Chromium keeps a connection's RTT in
	// whole milliseconds and a veth round trip is well under one. Only a
	// missing pair or a negative figure is wrong.
	if tr.PairTypes == "" || tr.PairRTTMs < 0 {
		t.Errorf("no selected candidate pair: rtt %v, types %q", tr.PairRTTMs, tr.PairTypes)
	}
}

// ownSocketsHere lists this process's TCP and UDP sockets that live in its
// own network namespace (the one /proc/self/net shows): the peer's and
// the signalling server's belong in the cloud namespace, and a socket
// here would meet other tests' traffic (pion's mDNS once did, on 5353).
func ownSocketsHere(t *testing.T) []string {
	t.Helper()
	mine := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, _ := os.Readlink("/proc/self/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"udp", "udp6", "tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/self/net/" + table)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && mine[f[9]] {
				out = append(out, table+" "+f[1])
			}
		}
	}
	return out
}
