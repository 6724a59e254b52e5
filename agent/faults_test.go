package agent

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/packet"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// garbageLoad is what one sender put on the wire: the frames the kernel
// accepted, in order, and how many it refused.
type garbageLoad struct {
	sent    [][]byte
	refused int
}

// sendFrames sends Ethernet frames out of iface in ns through an AF_PACKET
// socket, in batches spread over about a second so that they interleave
// with the normal traffic.
func sendFrames(ns netns.Named, iface string, frames [][]byte) (garbageLoad, error) {
	var load garbageLoad
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return fmt.Errorf("opening packet socket: %w", err)
		}
		defer unix.Close(fd)
		for i, f := range frames {
			proto := binary.BigEndian.Uint16(f[12:])
			to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: proto<<8 | proto>>8}
			if unix.Sendto(fd, f, 0, to) != nil {
				load.refused++
			} else {
				load.sent = append(load.sent, f)
			}
			if i%100 == 99 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		return nil
	})
	return load, err
}

// sendRawIPv4 sends IPv4 packets, headers written by us (IPPROTO_RAW), to
// the loopback interface of ns. The frames returned are what the
// classifier sees on lo: an all-zero Ethernet header, then the packet.
func sendRawIPv4(ns netns.Named, packets [][]byte) (garbageLoad, error) {
	var load garbageLoad
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("opening raw socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
		for _, p := range packets {
			if unix.Sendto(fd, p, 0, to) != nil {
				load.refused++
				continue
			}
			load.sent = append(load.sent, append(make([]byte, 12), append([]byte{0x08, 0x00}, p...)...))
		}
		return nil
	})
	return load, err
}

// makeGarbage builds n frames of every kind, VLAN-tagged ones only when
// vlan is set.
func makeGarbage(r *rand.Rand, n int, vlan bool) [][]byte {
	var out [][]byte
	for _, k := range garbageKinds {
		if k.vlan && !vlan {
			continue
		}
		for range n {
			out = append(out, k.make(r))
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// rawIPv4Garbage is IPv4 packets (no Ethernet header) with short L4
// headers, bad IHL and fragment offsets.
func rawIPv4Garbage(r *rand.Rand, n int) [][]byte {
	var out [][]byte
	for range n {
		for _, mk := range []func(*rand.Rand) []byte{ipv4ShortL4, ipv4BadIHL, ipv4Fragment} {
			out = append(out, mk(r)[14:])
		}
	}
	return out
}

// Malformed traffic on a watched namespace, in both directions and through
// a raw IP socket, while a process talks TCP and UDP there: the agent keeps
// running quietly, the real flows keep their owners and byte counts, and
// the anomaly counters hold exactly what the Go twin of the parser says the
// garbage should add.
func TestMalformedTrafficLive(t *testing.T) {
	p := testenv.NewPair(t)
	a, logs := startAgentLogged(t, Config{Netns: []string{p.Client.Path()}})
	ns := netnsCookie(t, p.Client)

	tcpAddr, udpAddr := fmt.Sprintf("%s:7201", p.ServerIP4), fmt.Sprintf("%s:7202", p.ServerIP4)
	tcpSrv := testenv.StartPeer(t, p.Server, "tf-tcp-server", "tcp-server", tcpAddr, fmt.Sprint(tcpBytes))
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", udpAddr, "200")
	tcpCli := testenv.StartPeer(t, p.Client, "tf-tcp-user", "tcp-client", tcpAddr, fmt.Sprint(tcpBytes), "wait")
	udpCli := testenv.StartPeer(t, p.Client, "tf-udp-user", "udp-client", udpAddr, "200", "1000", "connect", "wait", "0")

	r := rand.New(rand.NewSource(9))
	egress, ingress, raw := makeGarbage(r, 300, true), makeGarbage(r, 300, false), rawIPv4Garbage(r, 100)
	loads := make([]garbageLoad, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); loads[0], errs[0] = sendFrames(p.Client, p.ClientIface, egress) }()
	go func() { defer wg.Done(); loads[1], errs[1] = sendFrames(p.Server, p.ServerIface, ingress) }()
	go func() { defer wg.Done(); loads[2], errs[2] = sendRawIPv4(p.Client, raw) }()
	time.Sleep(100 * time.Millisecond)
	tcpCli.Go()
	udpCli.Go()
	cliResent, srvResent := resent(t, tcpCli), resent(t, tcpSrv)
	tcpCli.Wait(t)
	udpCli.Wait(t)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// What the classifier should have made of the garbage.
	twin, fromRaw := packet.NewFlows(), packet.NewFlows()
	for i, load := range loads {
		for _, f := range load.sent {
			if i != 1 {
				twin.Add(f, true, 0, true, ns, 1)
			}
			if i != 0 { // ingress on the veth; raw packets come back in on lo
				twin.Add(f, true, 0, false, ns, 1)
			}
			if i == 2 {
				fromRaw.Add(f, true, 0, true, ns, 1)
			}
		}
	}
	t.Logf("garbage sent: %d egress, %d ingress, %d raw IPv4 (refused by the kernel: %d, %d, %d); twin: %d parse_short, %d ip_fragment, %d flows",
		len(loads[0].sent), len(loads[1].sent), len(loads[2].sent), loads[0].refused, loads[1].refused, loads[2].refused,
		twin.Counters[contract.CntParseShort], twin.Counters[contract.CntIPFragment], len(twin.Stats))

	c := findFlow(t, a, ns, "tcp", port(t, tcpCli.Ready), 7201)
	assertOwner(t, c, tcpCli)
	assertTCPBytes(t, "tcp bytes_sent", c.BytesSent, c.PacketsSent, cliResent, false)
	assertTCPBytes(t, "tcp bytes_recv", c.BytesRecv, c.PacketsRecv, srvResent, false)
	u := findFlow(t, a, ns, "udp", port(t, udpCli.Ready), 7202)
	assertOwner(t, u, udpCli)
	assertBytes(t, "udp bytes_sent", u.BytesSent, 200*1028, 0)
	assertBytes(t, "udp bytes_recv", u.BytesRecv, 200*1028, 0)

	if err := a.Poll(); err != nil {
		t.Errorf("reading the kernel after the garbage: %v", err)
	}
	assertGarbageCounted(t, a, twin)
	assertGarbageFlows(t, a, twin, fromRaw.Stats)
	if warn := logs.warnings(); len(warn) > 0 || logs.count() > 20 {
		t.Errorf("agent logged %d lines, %d at warn or above; want a handful and none", logs.count(), len(warn))
	}
}

func assertGarbageCounted(t *testing.T, a *Agent, twin *packet.Flows) {
	t.Helper()
	got, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent counters: %v", got.Kernel)
	for _, i := range []contract.Counter{contract.CntParseShort, contract.CntIPFragment} {
		if name := contract.CounterNames[i]; got.Kernel[name] != twin.Counters[i] {
			t.Errorf("%s = %d, want %d (the garbage's)", name, got.Kernel[name], twin.Counters[i])
		}
	}
	if len(got.Losses()) != 0 {
		t.Errorf("losses %v, want none", got.Losses())
	}
}

// assertGarbageFlows checks that the garbage that parsed as TCP or UDP is
// counted as its own flows. Frames from packet sockets have no owner; the
// raw IP socket's packets belong to this test process, which sent them.
func assertGarbageFlows(t *testing.T, a *Agent, twin *packet.Flows, fromRaw map[bpf.FlowKey]*bpf.FlowStats) {
	t.Helper()
	_ = a.Poll() // a fresh read of the kernel (errors are the faults under test)
	got := map[bpf.FlowKey]bpf.FlowStats{}
	owned, wrongOwner := 0, 0
	for _, f := range a.table.Snapshot() {
		got[f.Key] = f.Stats()
		if _, garbage := twin.Stats[f.Key]; !garbage || !f.Owner.Known() {
			continue
		}
		owned++
		if _, raw := fromRaw[f.Key]; !raw || f.Owner.TGID != uint32(os.Getpid()) {
			wrongOwner++
			t.Errorf("garbage flow %+v has owner %+v", f.Key, f.Owner)
		}
	}
	missing, wrong := 0, 0
	for k, w := range twin.Stats {
		g, ok := got[k]
		switch {
		case !ok:
			missing++
		case g.Dir[0].Packets != w.Dir[0].Packets || g.Dir[1].Packets != w.Dir[1].Packets ||
			g.Dir[0].Bytes != w.Dir[0].Bytes || g.Dir[1].Bytes != w.Dir[1].Bytes:
			wrong++
			if wrong <= 3 {
				t.Errorf("garbage flow %+v: got %+v/%+v, want %+v/%+v", k, g.Dir[0], g.Dir[1], w.Dir[0], w.Dir[1])
			}
		}
	}
	t.Logf("%d garbage flows, %d of them from the raw socket owned by this process", len(twin.Stats), owned)
	if missing > 0 || wrong > 0 || wrongOwner > 0 {
		t.Errorf("of %d garbage flows: %d missing, %d with other counts, %d with a wrong owner", len(twin.Stats), missing, wrong, wrongOwner)
	}
}
