package agent

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// churnIface is one interface made for a cycle: a veth to the server
// namespace or a tun that nobody reads.
type churnIface struct {
	name, peer string // peer: an address behind it, ip:port
}

func addChurnIface(t *testing.T, p *testenv.Pair, i int) churnIface {
	t.Helper()
	if i%2 == 0 {
		c := churnIface{name: fmt.Sprintf("tfv%d", i), peer: fmt.Sprintf("10.90.%d.2:7500", i)}
		err := netns.Veth(
			netns.End{NS: p.Client, Iface: c.name, Addrs: []string{fmt.Sprintf("10.90.%d.1/24", i)}},
			netns.End{NS: p.Server, Iface: fmt.Sprintf("tfw%d", i), Addrs: []string{fmt.Sprintf("10.90.%d.2/24", i)}},
		)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := churnIface{name: fmt.Sprintf("tft%d", i), peer: fmt.Sprintf("10.91.%d.2:7500", i)}
	for _, args := range [][]string{
		{"tuntap", "add", "dev", c.name, "mode", "tun"},
		{"addr", "add", fmt.Sprintf("10.91.%d.1/24", i), "dev", c.name},
		{"link", "set", c.name, "up"},
	} {
		if err := p.Client.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// burst adds, brings up and removes n tun devices from one ip process,
// faster than the agent handles their announcements.
func burst(t *testing.T, ns netns.Named, n int) {
	t.Helper()
	var cmds strings.Builder
	for i := range n {
		fmt.Fprintf(&cmds, "tuntap add dev tfb%d mode tun\nlink set tfb%d up\n", i, i)
		fmt.Fprintf(&cmds, "addr add 10.92.%d.1/24 dev tfb%d\nlink del tfb%d\n", i, i, i)
	}
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v: %s", err, out)
	}
}

// waitAttached waits until the interface is (or, want false, is no longer)
// in the agent's list.
func waitAttached(t *testing.T, a *Agent, name string, want bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for slices.Contains(a.Attached(), name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s attached=%v after 3 s, want %v; attached: %v", name, !want, want, a.Attached())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendUDP sends count small datagrams to addr from a socket in ns. The
// socket is unconnected: nobody listens at addr, and the port unreachable
// answers must not fail the sends.
func sendUDP(t *testing.T, ns netns.Named, addr string, count int) uint16 {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var local uint16
	err = ns.Do(func() error {
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			return err
		}
		defer c.Close()
		local = uint16(c.LocalAddr().(*net.UDPAddr).Port)
		for range count {
			if _, err := c.WriteTo(make([]byte, 100), to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return local
}

// waitFlow waits until the UDP flow between the ports has sent packets:
// on a fresh veth the datagrams wait for ARP before the classifier sees
// them.
// The peer address is part of the match: an earlier interface's flow may
// have had the same ephemeral local port.
func waitFlow(t *testing.T, a *Agent, ns uint64, local uint16, peer string, packets uint64) record.Record {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, r := range records(a) {
			if r.Netns == ns && r.Transport == "udp" && r.LocalPort == local &&
				net.JoinHostPort(r.PeerAddr, fmt.Sprint(r.PeerPort)) == peer &&
				(r.PacketsSent >= packets || time.Now().After(deadline)) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no udp flow %d->%s within 3 s", local, peer)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tcLinks counts the kernel's links that run this agent's classifier.
func tcLinks(t *testing.T, objs *bpf.Objects) int {
	t.Helper()
	ours := map[ebpf.ProgramID]bool{}
	for _, l2 := range []bool{false, true} {
		for _, egress := range []bool{false, true} {
			info, err := objs.ClassifierFor(l2, egress).Info()
			if err != nil {
				t.Fatal(err)
			}
			id, _ := info.ID()
			ours[id] = true
		}
	}
	n := 0
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		if info, err := it.Link.Info(); err == nil && ours[info.Program] {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// Interfaces come and go while the agent runs: 20 veths and tuns, one
// after the other, each carrying traffic, then a burst of 20 tuns added
// and removed without a pause. Every interface that stays long enough gets the
// classifier and its traffic is counted on it; removed ones leave no link
// behind; and the agent stays quiet.
func TestInterfaceChurn(t *testing.T) {
	for _, mode := range []bpf.TCMode{bpf.TCX, bpf.TCClsact} {
		t.Run(string(mode), func(t *testing.T) {
			p := testenv.NewPair(t)
			a, logs := startAgentLogged(t, Config{Netns: []string{p.Client.Path()}, TCMode: mode})
			ns := netnsCookie(t, p.Client)
			start := time.Now()
			for i := range 20 {
				c := addChurnIface(t, p, i)
				name := p.Client.Path() + ":" + c.name
				waitAttached(t, a, name, true)
				local := sendUDP(t, p.Client, c.peer, 3)
				r := waitFlow(t, a, ns, local, c.peer, 3)
				if r.Interface != c.name || r.PacketsSent != 3 {
					t.Errorf("flow on %s: interface %q, %d packets; want 3", c.name, r.Interface, r.PacketsSent)
				}
				if err := p.Client.IP("link", "del", c.name); err != nil {
					t.Fatal(err)
				}
				waitAttached(t, a, name, false)
			}
			t.Logf("20 interfaces attached, used and removed in %v", time.Since(start).Round(time.Millisecond))
			burst(t, p.Client, 20)
			time.Sleep(500 * time.Millisecond) // let the agent catch up with the burst
			want := []string{p.Client.Path() + ":lo", p.Client.Path() + ":" + p.ClientIface}
			if got := a.Attached(); !slices.Equal(got, want) {
				t.Errorf("attached after the churn: %v, want %v", got, want)
			}
			if n := tcLinks(t, a.objs); mode == bpf.TCX && n != 4 {
				t.Errorf("%d tcx links run the classifier, want 4 (lo and %s, both ways)", n, p.ClientIface)
			}
			if mode == bpf.TCClsact {
				for _, iface := range []string{"lo", p.ClientIface} {
					if n := filtersOn(t, p.Client, iface); n != 2 {
						t.Errorf("%d tc filters on %s after the churn, want 2", n, iface)
					}
				}
			}
			warn := logs.warnings()
			t.Logf("%d log lines (%d for interfaces gone before they were watched), %d at warn or above",
				logs.count(), logs.containing("gone before it could be watched"), len(warn))
			if logs.count() > 10+4*40 {
				t.Errorf("%d log lines for 40 interfaces", logs.count())
			}
			if len(warn) > 0 {
				t.Errorf("%d warnings for interfaces that came and went, want none; first: %s", len(warn), warn[0])
			}
		})
	}
}
