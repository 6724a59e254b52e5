// Package testenv holds what the tests of several packages share: the root
// check, a pair of network namespaces joined by a veth pair, traffic peers,
// the simulator and one build helper; its sub-packages build packets (pkt),
// read the simulator's truth (truth) and run a collector (otelcol). See
// README.md.
package testenv

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// RequirePrivileged fails the test with a clear message when not root.
// Setting TEAMSFLOW_SKIP_PRIVILEGED=1 turns the failure into a skip, for
// developers who only want the unprivileged units.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("TEAMSFLOW_SKIP_PRIVILEGED") == "1" {
		t.Skip("not root and TEAMSFLOW_SKIP_PRIVILEGED=1")
	}
	t.Fatal("this test attaches eBPF programs and creates network namespaces: run it as root " +
		"(or set TEAMSFLOW_SKIP_PRIVILEGED=1 to skip it)")
}

// Pair is two namespaces, "client" and "server", joined by a veth pair with
// IPv4 and IPv6 addresses.
type Pair struct {
	Client, Server           netns.Named
	ClientIface, ServerIface string
	ClientIP4, ServerIP4     string
	ClientIP6, ServerIP6     string
}

var pairSeq atomic.Int32

// NewPair builds a fresh Pair and removes it when the test ends. Names are
// unique per process so parallel packages do not collide.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	RequirePrivileged(t)
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, pairSeq.Add(1))
	p := &Pair{
		ClientIface: "tfc0", ServerIface: "tfs0",
		ClientIP4: "10.77.0.1", ServerIP4: "10.77.0.2",
		ClientIP6: "fd77::1", ServerIP6: "fd77::2",
	}
	var err error
	if p.Client, err = netns.Create("tft-c-" + id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Client.Delete() })
	if p.Server, err = netns.Create("tft-s-" + id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Server.Delete() })
	err = netns.Veth(
		netns.End{NS: p.Client, Iface: p.ClientIface, Addrs: []string{p.ClientIP4 + "/24", p.ClientIP6 + "/64"}},
		netns.End{NS: p.Server, Iface: p.ServerIface, Addrs: []string{p.ServerIP4 + "/24", p.ServerIP6 + "/64"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// OnBothEnds calls attach with the veth's interface index inside each end's
// namespace (the classifier at both ends sees each packet leave and
// arrive), and closes what it attached when the test ends. attach is the
// caller's (e.g. AttachTC at both hooks), so testenv needs no kernel
// package and bpf's own tests can use it.
func (p *Pair) OnBothEnds(t testing.TB, attach func(ifindex int) (io.Closer, error)) {
	t.Helper()
	for _, end := range []struct {
		ns    netns.Named
		iface string
	}{{p.Client, p.ClientIface}, {p.Server, p.ServerIface}} {
		err := end.ns.Do(func() error {
			ifi, err := net.InterfaceByName(end.iface)
			if err != nil {
				return err
			}
			c, err := attach(ifi.Index)
			if err == nil {
				t.Cleanup(func() { c.Close() })
			}
			return err
		})
		if err != nil {
			t.Fatalf("attaching in %s: %v", end.ns.Name, err)
		}
	}
}
