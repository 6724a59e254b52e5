package agent

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// A datagram held while its next hop's address is resolved leaves when
// the answer comes in, in a softirq on whatever task the CPU runs then:
// on a busy host a compiler or a browser, here the test process, whose
// ARP reply releases it. The classifier must not take that task for the
// sender: the socket's creator stays its owner.
func TestHeldDatagramKeepsItsSender(t *testing.T) {
	p := testenv.NewPair(t)
	a := startAgent(t, p.Client.Path())
	// The server answers no ARP request, so the client's first datagram
	// waits in the neighbour queue until the test's reply.
	if err := p.Server.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/"+p.ServerIface+"/arp_ignore", []byte("8"), 0)
	}); err != nil {
		t.Fatal(err)
	}
	srvAddr := fmt.Sprintf("%s:7005", p.ServerIP4)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", srvAddr, "3")
	cli := testenv.StartPeer(t, p.Client, "tf-held-sender", "udp-client", srvAddr, "3", "200", "sendto", "wait", "0")
	cli.Go()
	time.Sleep(300 * time.Millisecond)
	out, err := p.Client.Command("ip", "neigh", "show", p.ServerIP4, "dev", p.ClientIface).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "INCOMPLETE") {
		t.Fatalf("the server's address should be unresolved with the datagram waiting: %q %v", out, err)
	}
	reply, err := arpReply(p)
	if err != nil {
		t.Fatal(err)
	}
	if load, err := sendFrames(p.Server, p.ServerIface, [][]byte{reply}); err != nil || load.refused > 0 {
		t.Fatalf("sending the ARP reply: %v (refused %d)", err, load.refused)
	}
	cli.Wait(t)

	c := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, cli.Ready), 7005)
	assertOwner(t, c, cli)
	if c.PacketsSent != 3 {
		t.Errorf("packets sent %d, want 3 (the held one among them)", c.PacketsSent)
	}
}

// arpReply is the server's answer to the client's ARP request.
func arpReply(p *testenv.Pair) ([]byte, error) {
	var client, server net.HardwareAddr
	if err := p.Client.Do(func() error { var err error; client, err = hardwareAddr(p.ClientIface); return err }); err != nil {
		return nil, err
	}
	if err := p.Server.Do(func() error { var err error; server, err = hardwareAddr(p.ServerIface); return err }); err != nil {
		return nil, err
	}
	f := make([]byte, 0, 42)
	f = append(append(f, client...), server...)
	f = binary.BigEndian.AppendUint16(f, 0x0806) // ARP
	f = append(f, 0, 1, 8, 0, 6, 4, 0, 2)        // Ethernet, IPv4, reply
	f = append(append(f, server...), net.ParseIP(p.ServerIP4).To4()...)
	return append(append(f, client...), net.ParseIP(p.ClientIP4).To4()...), nil
}

func hardwareAddr(iface string) (net.HardwareAddr, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	return ifi.HardwareAddr, nil
}

// resolveServer fills the client's neighbour table with the server's
// addresses, so that a test about something else sends its first
// datagram at once instead of holding it for ARP or neighbour discovery
// (TestHeldDatagramKeepsItsSender tests that path).
func resolveServer(t *testing.T, p *testenv.Pair) {
	t.Helper()
	var server net.HardwareAddr
	if err := p.Server.Do(func() error { var err error; server, err = hardwareAddr(p.ServerIface); return err }); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{p.ServerIP4, p.ServerIP6} {
		if out, err := p.Client.Command("ip", "neigh", "replace", ip, "lladdr", server.String(), "dev", p.ClientIface, "nud", "permanent").CombinedOutput(); err != nil {
			t.Fatalf("ip neigh replace %s: %v: %s", ip, err, out)
		}
	}
}
