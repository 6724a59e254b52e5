package agent

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

const tcpBytes = 2 << 20

// tcpOverhead bounds IP+TCP headers, ACKs and retransmissions where a test
// knows no packet count: typically 3-4%, up to ~10% when segments are small.
const tcpOverhead = 0.15

// assertTCPBytes checks a direction's IP bytes against the payload it
// carried. Headers are real wire bytes, and their share depends on how
// the stack cut the stream into segments (on a loaded machine many small
// ones: a fifth of the bytes were headers in one run), so the bound
// allows each packet its IP header and a TCP header with the most
// options (60 bytes). A GSO aggregate counts its segments as packets but
// carries one set of headers, so fewer header bytes are always fine.
// Payload sent again is real wire bytes too: resent is what the sending
// kernel reports it retransmitted (tcpi_bytes_retrans), which on a
// loaded machine was once 9% of the stream.
func assertTCPBytes(t *testing.T, what string, bytes, packets, resent uint64, ipv6 bool) {
	t.Helper()
	ipHeader := uint64(20)
	if ipv6 {
		ipHeader = 40
	}
	mostHeaders := packets * (ipHeader + 60)
	if bytes < tcpBytes || bytes > tcpBytes+resent+mostHeaders {
		t.Errorf("%s = %d bytes in %d packets, want %d of payload plus at most %d of headers and %d sent again",
			what, bytes, packets, tcpBytes, mostHeaders, resent)
	}
}

// resent reads the payload bytes a tcp-client or tcp-server peer reports
// it sent again.
func resent(t *testing.T, p *testenv.Peer) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(p.Expect(t, "resent"), "resent")), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTCPClientAndServer(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		t.Run(map[bool]string{false: "ipv4", true: "ipv6"}[ipv6], func(t *testing.T) {
			p := testenv.NewPair(t)
			a := startAgent(t, p.Client.Path(), p.Server.Path())
			srvAddr := fmt.Sprintf("%s:7001", p.ServerIP4)
			if ipv6 {
				srvAddr = fmt.Sprintf("[%s]:7001", p.ServerIP6)
			}
			srv := testenv.StartPeer(t, p.Server, "tf-tcp-server", "tcp-server", srvAddr, fmt.Sprint(tcpBytes))
			cli := testenv.StartPeer(t, p.Client, "tf-tcp-client", "tcp-client", srvAddr, fmt.Sprint(tcpBytes), "nowait")
			cliResent, srvResent := resent(t, cli), resent(t, srv)
			cli.Wait(t)
			srv.Wait(t)
			cport := port(t, cli.Ready)

			c := findFlow(t, a, netnsCookie(t, p.Client), "tcp", cport, 7001)
			assertOwner(t, c, cli)
			assertTCPBytes(t, "client bytes_sent", c.BytesSent, c.PacketsSent, cliResent, ipv6)
			assertTCPBytes(t, "client bytes_recv", c.BytesRecv, c.PacketsRecv, srvResent, ipv6)

			s := findFlow(t, a, netnsCookie(t, p.Server), "tcp", 7001, cport)
			assertOwner(t, s, srv) // the accepted socket
			assertTCPBytes(t, "server bytes_recv", s.BytesRecv, s.PacketsRecv, cliResent, ipv6)
			assertTCPBytes(t, "server bytes_sent", s.BytesSent, s.PacketsSent, srvResent, ipv6)
		})
	}
}

func TestUDPConnectedAndUnconnected(t *testing.T) {
	const count, size = 200, 1000
	for _, mode := range []string{"connect", "sendto"} {
		t.Run(mode, func(t *testing.T) {
			p := testenv.NewPair(t)
			a := startAgent(t, p.Client.Path(), p.Server.Path())
			srvAddr := fmt.Sprintf("%s:7002", p.ServerIP4)
			srv := testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", srvAddr, fmt.Sprint(count))
			cli := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", srvAddr, fmt.Sprint(count), fmt.Sprint(size), mode, "nowait", "0")
			cli.Wait(t)
			srv.Wait(t)
			cport := port(t, cli.Ready)
			want := uint64(count * (size + 28))

			c := findFlow(t, a, netnsCookie(t, p.Client), "udp", cport, 7002)
			assertOwner(t, c, cli)
			assertBytes(t, "client bytes_sent", c.BytesSent, want, 0)
			assertBytes(t, "client bytes_recv", c.BytesRecv, want, 0)
			if c.PacketsSent != count || c.PacketsRecv != count {
				t.Errorf("client packets %d/%d, want %d each way", c.PacketsSent, c.PacketsRecv, count)
			}
			s := findFlow(t, a, netnsCookie(t, p.Server), "udp", 7002, cport)
			assertOwner(t, s, srv)
			assertBytes(t, "server bytes_recv", s.BytesRecv, want, 0)
			assertBytes(t, "server bytes_sent", s.BytesSent, want, 0)
		})
	}
}

// A process that exits 50 ms after its last packet is still named.
func TestShortLivedProcess(t *testing.T) {
	p := testenv.NewPair(t)
	resolveServer(t, p)
	a := startAgent(t, p.Client.Path())
	srvAddr := fmt.Sprintf("[%s]:7003", p.ServerIP6)
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", srvAddr, "5")
	cli := testenv.StartPeer(t, p.Client, "tf-short-lived", "udp-client", srvAddr, "5", "300", "connect", "nowait", "50")
	cli.Wait(t)
	time.Sleep(300 * time.Millisecond) // well after the exit
	c := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, cli.Ready), 7003)
	assertOwner(t, c, cli)
	if c.Family != "ipv6" {
		t.Errorf("family %q, want ipv6", c.Family)
	}
	assertBytes(t, "bytes_sent", c.BytesSent, 5*(300+48), 0)
}

// A socket opened before the agent started gets its owner by backfill.
func TestSocketOpenedBeforeAgent(t *testing.T) {
	p := testenv.NewPair(t)
	srvAddr := fmt.Sprintf("%s:7004", p.ServerIP4)
	srv := testenv.StartPeer(t, p.Server, "tf-old-server", "tcp-server", srvAddr, "100000")
	cli := testenv.StartPeer(t, p.Client, "tf-old-client", "tcp-client", srvAddr, "100000", "wait")
	a := startAgent(t, p.Client.Path(), p.Server.Path())
	cli.Go()
	cli.Wait(t)
	srv.Wait(t)
	cport := port(t, cli.Ready)
	c := findFlow(t, a, netnsCookie(t, p.Client), "tcp", cport, 7004)
	assertOwner(t, c, cli)
	assertBytes(t, "client bytes_sent", c.BytesSent, 100000, tcpOverhead)
	s := findFlow(t, a, netnsCookie(t, p.Server), "tcp", 7004, cport)
	assertOwner(t, s, srv)
}

// Two processes with the same addresses and ports in two namespaces are
// two flows with two owners.
func TestSamePortInTwoNamespaces(t *testing.T) {
	p1, p2 := testenv.NewPair(t), testenv.NewPair(t)
	a := startAgent(t, p1.Client.Path(), p2.Client.Path())
	var clients []*testenv.Peer
	for i, p := range []*testenv.Pair{p1, p2} {
		srvAddr := fmt.Sprintf("%s:7005", p.ServerIP4)
		testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", srvAddr, "10")
		// Both clients bind the same local port through the same peer mode.
		cli := testenv.StartPeer(t, p.Client, fmt.Sprintf("tf-twin-%d", i), "udp-client", srvAddr, "10", fmt.Sprint(100*(i+1)), "connect", "nowait", "0")
		clients = append(clients, cli)
	}
	for _, c := range clients {
		c.Wait(t)
	}
	for i, p := range []*testenv.Pair{p1, p2} {
		c := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, clients[i].Ready), 7005)
		assertOwner(t, c, clients[i])
		assertBytes(t, "bytes_sent", c.BytesSent, uint64(10*(100*(i+1)+28)), 0)
	}
}
