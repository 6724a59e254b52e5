package bpf

import (
	"io"
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestClassifierTakesItsDirectionFromTheHook runs the program the agent
// attaches (not the test entries, whose direction is fixed) on real
// traffic: attached at both hooks of both ends of a veth pair, with UDP
// sent both ways, each namespace's flow must count what left it as egress
// and what arrived as ingress, through the full path (a flow's first
// packets) and the express lane (the rest).
func TestClassifierTakesItsDirectionFromTheHook(t *testing.T) {
	p := testenv.NewPair(t)
	o := loadForTest(t)
	attachBothEnds(t, o, p)
	const clientPort, serverPort, sent, replied = 40001, 5001, 40, 25
	client := testenv.BoundUDP(t, p.Client, p.ClientIP4, clientPort)
	server := testenv.BoundUDP(t, p.Server, p.ServerIP4, serverPort)
	// The server's flow starts with a packet received: its socket comes
	// from a lookup at ingress, the client's from the packet at egress.
	cookies := map[uint16]uint64{clientPort: socketCookie(t, client), serverPort: socketCookie(t, server)}
	sendUDP(t, client, p.ServerIP4, serverPort, sent)
	sendUDP(t, server, p.ClientIP4, clientPort, replied)

	got := map[uint16][2]uint64{} // by local port: egress, ingress packets
	err := o.Flows().Read(func(k FlowKey, v []FlowStats) {
		if k.Protocol == unix.IPPROTO_UDP && (k.LocalPort == clientPort || k.LocalPort == serverPort) {
			m := MergeCPUs(v)
			got[k.LocalPort] = [2]uint64{m.Dir[0].Packets, m.Dir[1].Packets}
			if m.Cookie != cookies[k.LocalPort] {
				t.Errorf("flow of port %d: socket cookie %d, want %d", k.LocalPort, m.Cookie, cookies[k.LocalPort])
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, s := got[clientPort], got[serverPort]; c != [2]uint64{sent, replied} || s != [2]uint64{replied, sent} {
		t.Fatalf("client flow egress/ingress %v, want [%d %d]; server flow %v, want [%d %d]",
			c, sent, replied, s, replied, sent)
	}
}

// attachBothEnds attaches the classifier at both hooks of both ends of
// the pair, for as long as the test runs.
func attachBothEnds(t *testing.T, o *Objects, p *testenv.Pair) {
	t.Helper()
	p.OnBothEnds(t, func(ifindex int) (io.Closer, error) { return o.AttachTC(ifindex, true, TCX) })
}

// sendUDP sends n datagrams of 100 zero bytes, which show no protocol.
func sendUDP(t *testing.T, c *net.UDPConn, addr string, port, n int) {
	t.Helper()
	to := &net.UDPAddr{IP: net.ParseIP(addr), Port: port}
	for range n {
		if _, err := c.WriteToUDP(make([]byte, 100), to); err != nil {
			t.Fatal(err)
		}
	}
}

// socketCookie is the kernel's cookie of a socket (SO_COOKIE makes it if
// it had none yet).
func socketCookie(t *testing.T, c *net.UDPConn) uint64 {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cookie uint64
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cookie, serr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_COOKIE)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return cookie
}
