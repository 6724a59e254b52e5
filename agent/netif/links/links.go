//go:build linux

// Package links reads a namespace's interfaces (rtnetlink, sysfs) and
// gives each its kind (agent/netif): the live half, Linux only.
package links

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/teamsflow/teamsflow/agent/netif"
	"github.com/teamsflow/teamsflow/agent/netns"
)

// Interface is one interface of a namespace and its kind.
type Interface struct {
	Index int
	Name  string
	Kind  string // "" when Classify could not tell
	Facts netif.Facts
}

// Gather lists the interfaces of the namespace at nsPath ("" for the
// agent's own) with their kinds, keyed by ifindex (what the kernel programs
// see). Links come from rtnetlink and /proc/thread-self/net/wireless, both
// of which answer for the namespace the thread is in. sysfs is read only
// for the agent's own namespace: /sys shows the namespace that mounted it,
// and entering another namespace does not change that.
func Gather(nsPath string) (map[int]Interface, error) {
	out := map[int]Interface{}
	err := netns.Do(nsPath, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return fmt.Errorf("listing interfaces: %w", err)
		}
		wireless := wirelessNames()
		for _, l := range links {
			f := linkFacts(l)
			f.Wireless = wireless[f.Name]
			if nsPath == "" {
				sysfsFacts(&f)
			}
			out[l.Attrs().Index] = Interface{Index: l.Attrs().Index, Name: f.Name, Kind: netif.Classify(f), Facts: f}
		}
		return nil
	})
	return out, err
}

func linkFacts(l netlink.Link) netif.Facts {
	a := l.Attrs()
	f := netif.Facts{Name: a.Name, Encap: a.EncapType, LinkKind: l.Type(), Loopback: a.Flags&net.FlagLoopback != 0}
	if f.LinkKind == "device" {
		f.LinkKind = ""
	}
	if t, ok := l.(*netlink.Tuntap); ok {
		f.TunMode = "tun"
		if t.Mode == netlink.TUNTAP_MODE_TAP {
			f.TunMode = "tap"
		}
	}
	return f
}

// wirelessNames reads the wireless extensions' list of the thread's
// namespace; it is absent on kernels without them, which sysfs then covers.
func wirelessNames() map[string]bool {
	out := map[string]bool{}
	file, err := os.Open("/proc/thread-self/net/wireless")
	if err != nil {
		return out
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), ":"); ok && !strings.Contains(name, "|") {
			out[strings.TrimSpace(name)] = true
		}
	}
	return out
}

func sysfsFacts(f *netif.Facts) {
	dir := filepath.Join("/sys/class/net", f.Name)
	if b, err := os.ReadFile(filepath.Join(dir, "uevent")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "DEVTYPE="); ok {
				f.DevType = v
			}
		}
	}
	for _, entry := range []string{"wireless", "phy80211"} {
		if _, err := os.Stat(filepath.Join(dir, entry)); err == nil {
			f.Wireless = true
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tun_flags")); err == nil {
		f.TunFlags = true
	}
}

// Route returns the interface the namespace's routing sends dst through:
// the interface a flow to that peer uses when the kernel programs did not
// report one (e.g. a stream read from a capture of this host).
func Route(nsPath string, dst netip.Addr) (Interface, error) {
	var idx int
	err := netns.Do(nsPath, func() error {
		routes, err := netlink.RouteGet(dst.AsSlice())
		if err != nil {
			return fmt.Errorf("route to %s: %w", dst, err)
		}
		if len(routes) == 0 {
			return fmt.Errorf("route to %s: none", dst)
		}
		idx = routes[0].LinkIndex
		return nil
	})
	if err != nil {
		return Interface{}, err
	}
	ifs, err := Gather(nsPath)
	if err != nil {
		return Interface{}, err
	}
	i, ok := ifs[idx]
	if !ok {
		return Interface{}, fmt.Errorf("route to %s: interface %d is gone", dst, idx)
	}
	return i, nil
}
