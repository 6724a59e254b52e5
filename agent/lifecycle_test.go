package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// stillLoaded counts which of the given programs the kernel still has.
func stillLoaded(ids []ebpf.ProgramID) int {
	n := 0
	for _, id := range ids {
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			p.Close()
			n++
		}
	}
	return n
}

func filtersOn(t *testing.T, ns netns.Named, iface string) int {
	t.Helper()
	n := 0
	_ = ns.Do(func() error {
		l, err := netlink.LinkByName(iface)
		if err != nil {
			t.Fatal(err)
		}
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			fs, _ := netlink.FilterList(l, parent)
			n += len(fs)
		}
		return nil
	})
	return n
}

// The clsact fallback counts like TCX, and nothing stays attached or
// loaded after Close, in either mode.
func TestAttachModesLeaveNothingBehind(t *testing.T) {
	for _, mode := range []bpf.TCMode{bpf.TCX, bpf.TCClsact} {
		t.Run(string(mode), func(t *testing.T) {
			p := testenv.NewPair(t)
			a, err := Start(Config{Netns: []string{p.Client.Path()}, TCMode: mode, Log: zerolog.New(zerolog.NewTestWriter(t))})
			if err != nil {
				t.Fatal(err)
			}
			wantFilters := map[bpf.TCMode]int{bpf.TCX: 0, bpf.TCClsact: 2}[mode]
			if n := filtersOn(t, p.Client, p.ClientIface); n != wantFilters {
				t.Errorf("%d tc filters while running, want %d", n, wantFilters)
			}
			srvAddr := fmt.Sprintf("%s:7010", p.ServerIP4)
			testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", srvAddr, "20")
			cli := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", srvAddr, "20", "500", "connect", "nowait", "0")
			cli.Wait(t)
			r := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, cli.Ready), 7010)
			assertOwner(t, r, cli)
			if r.PacketsSent != 20 || r.PacketsRecv != 20 {
				t.Errorf("packets %d/%d, want 20/20", r.PacketsSent, r.PacketsRecv)
			}
			ids := a.objs.ProgramIDs()
			// 11 socket hooks, exec and exit, the classifier with and
			// without a link-layer header (older kernels' variant: one
			// per direction each), the clock sample.
			want := 16
			if a.objs.ClassifierFor(true, true) != a.objs.ClassifierFor(true, false) {
				want = 18
			}
			if len(ids) != want {
				t.Fatalf("%d programs loaded, want %d", len(ids), want)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if n := filtersOn(t, p.Client, p.ClientIface); n != 0 {
				t.Errorf("%d tc filters left after Close", n)
			}
			// The kernel frees released programs after an RCU grace period.
			deadline := time.Now().Add(3 * time.Second)
			for stillLoaded(ids) != 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if n := stillLoaded(ids); n != 0 {
				t.Errorf("%d teamsflow programs still loaded after Close", n)
			}
		})
	}
}

// An interface that appears while the agent runs is watched at once; one
// that goes away is let go without errors.
func TestInterfaceAppearsAndGoes(t *testing.T) {
	p := testenv.NewPair(t)
	a := startAgent(t, p.Client.Path())
	err := netns.Veth(
		netns.End{NS: p.Client, Iface: "tfnew0", Addrs: []string{"10.78.0.1/24"}},
		netns.End{NS: p.Server, Iface: "tfnew1", Addrs: []string{"10.78.0.2/24"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !contains(a.Attached(), p.Client.Path()+":tfnew0") {
		if time.Now().After(deadline) {
			t.Fatalf("new interface not attached; attached: %v", a.Attached())
		}
		time.Sleep(20 * time.Millisecond)
	}
	testenv.StartPeer(t, p.Server, "tf-udp-server", "udp-server", "10.78.0.2:7011", "10")
	cli := testenv.StartPeer(t, p.Client, "tf-udp-client", "udp-client", "10.78.0.2:7011", "10", "100", "connect", "nowait", "0")
	cli.Wait(t)
	r := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, cli.Ready), 7011)
	if r.Interface != "tfnew0" || r.PacketsSent != 10 || r.PacketsRecv != 10 {
		t.Errorf("flow on new interface: iface %q packets %d/%d, want tfnew0 10/10", r.Interface, r.PacketsSent, r.PacketsRecv)
	}
	if err := p.Client.IP("link", "del", "tfnew0"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for contains(a.Attached(), p.Client.Path()+":tfnew0") {
		if time.Now().After(deadline) {
			t.Fatalf("removed interface still listed: %v", a.Attached())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A tun device (a VPN) has no Ethernet header: the classifier's L3 variant
// counts it, and it is picked up when it appears while the agent runs.
func TestTunDeviceAppears(t *testing.T) {
	p := testenv.NewPair(t)
	a := startAgent(t, p.Client.Path())
	for _, args := range [][]string{
		{"tuntap", "add", "dev", "tftun0", "mode", "tun"},
		{"addr", "add", "10.79.0.1/24", "dev", "tftun0"},
		{"link", "set", "tftun0", "up"},
	} {
		if err := p.Client.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !contains(a.Attached(), p.Client.Path()+":tftun0") {
		if time.Now().After(deadline) {
			t.Fatalf("tun not attached; attached: %v", a.Attached())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Nobody reads the tun, so only the egress side exists: fire and forget.
	cli := testenv.StartPeer(t, p.Client, "tf-vpn-user", "udp-send", "10.79.0.2:7012", "7", "300")
	cli.Wait(t)
	r := findFlow(t, a, netnsCookie(t, p.Client), "udp", port(t, cli.Ready), 7012)
	assertOwner(t, r, cli)
	if r.Interface != "tftun0" || r.PacketsSent != 7 || r.BytesSent != 7*328 {
		t.Errorf("tun flow: iface %q, %d packets, %d bytes; want tftun0, 7, %d", r.Interface, r.PacketsSent, r.BytesSent, 7*328)
	}
}
