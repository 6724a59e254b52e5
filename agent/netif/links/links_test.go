//go:build linux

package links

import (
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/teamsflow/teamsflow/agent/netif"
	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestGatherInNamespace builds real interfaces of each kind in a namespace
// and reads their kinds back through rtnetlink.
func TestGatherInNamespace(t *testing.T) {
	testenv.RequirePrivileged(t)
	ns, err := netns.Create(fmt.Sprintf("tfnif-%d", os.Getpid()%100000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Delete() })
	for _, args := range [][]string{
		{"tuntap", "add", "dev", "tfvpn0", "mode", "tun"},
		{"tuntap", "add", "dev", "tftap0", "mode", "tap"},
		{"link", "add", "tfveth0", "type", "veth", "peer", "name", "tfveth1"},
		{"link", "add", "tfbr0", "type", "bridge"},
		{"link", "set", "tfvpn0", "up"},
		{"addr", "add", "10.79.0.1/24", "dev", "tfvpn0"},
		{"link", "set", "tfveth0", "up"},
		{"addr", "add", "10.79.1.1/24", "dev", "tfveth0"},
	} {
		if err := ns.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"lo": netif.Loopback, "tfvpn0": netif.VPN, "tftap0": netif.VPN, "tfveth0": netif.Virtual,
		"tfveth1": netif.Virtual, "tfbr0": netif.Virtual}
	// Kernels built without these link types (no module to load, and a test
	// loads none) cannot make them; what they can make is checked.
	for name, kind := range map[string]string{"tfdummy0": "dummy", "tfwg0": "wireguard"} {
		if err := ns.IP("link", "add", name, "type", kind); err != nil {
			t.Logf("this kernel makes no %s links, not tested: %v", kind, err)
			continue
		}
		want[name] = map[string]string{"dummy": netif.Virtual, "wireguard": netif.VPN}[kind]
	}
	ifs, err := Gather(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, i := range ifs {
		got[i.Name] = i.Kind
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("%s: kind %q, want %q (facts %+v)", name, got[name], kind, byName(ifs, name))
		}
	}
	if len(got) != len(want) {
		t.Errorf("interfaces %v, want exactly %v", got, want)
	}

	// Media to a peer routed through the tun goes through a VPN; to the
	// veth's subnet it does not.
	for dst, kind := range map[string]string{"10.79.0.9": netif.VPN, "10.79.1.9": netif.Virtual} {
		i, err := Route(ns.Path(), netip.MustParseAddr(dst))
		if err != nil {
			t.Fatal(err)
		}
		if i.Kind != kind {
			t.Errorf("route to %s: %s (%s), want %s", dst, i.Name, i.Kind, kind)
		}
	}
	if _, err := Route(ns.Path(), netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("route without a default route: no error")
	}
}

// TestGatherOwnNamespace reads sysfs too: lo is loopback, and no interface
// of this machine is left without a kind by both sources.
func TestGatherOwnNamespace(t *testing.T) {
	ifs, err := Gather("")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		t.Logf("%s: %q (%+v)", i.Name, i.Kind, i.Facts)
		if i.Name == "lo" && i.Kind != netif.Loopback {
			t.Errorf("lo: %q", i.Kind)
		}
	}
}

func byName(ifs map[int]Interface, name string) netif.Facts {
	for _, i := range ifs {
		if i.Name == name {
			return i.Facts
		}
	}
	return netif.Facts{}
}
