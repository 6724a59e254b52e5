// Package netif tells what kind of link an interface is — wired, wifi, vpn,
// loopback or virtual (the record's `interface_kind`) — from what the kernel
// says of it: the device type (ARPHRD), the rtnetlink link kind, and sysfs
// (uevent DEVTYPE, wireless/phy80211, tun_flags). Teams media through a VPN
// is worth a warning: Microsoft asks that it bypass the tunnel.
package netif

import (
	"strings"

	"github.com/teamsflow/teamsflow/agent/record"
)

// Kinds.
const (
	Wired    = "wired"
	WiFi     = "wifi"
	VPN      = "vpn"
	Loopback = "loopback"
	Virtual  = "virtual"
)

// Facts are what the kernel says of one interface. Gather fills them; tests
// of Classify fill them by hand.
type Facts struct {
	Name string
	// Encap is the device type (ARPHRD) as rtnetlink names it: ether,
	// loopback, none (tun, wireguard), ppp, ipip, sit, gre, tunnel6, ...
	Encap string
	// LinkKind is the rtnetlink link kind (IFLA_INFO_KIND as netlink names
	// it: veth, bridge, dummy, vlan, tuntap, wireguard, xfrm, ...), "" for
	// a device with a driver of its own (a NIC, a wifi card).
	LinkKind string
	Loopback bool   // IFF_LOOPBACK
	TunMode  string // "tun" or "tap" for a tuntap device
	// From sysfs, where it shows this namespace (see Gather):
	DevType  string // uevent DEVTYPE: wlan, wireguard, ppp, bridge, vlan, ...
	Wireless bool   // a wireless or phy80211 entry, or a line in /proc/net/wireless
	TunFlags bool   // a tun_flags entry: a tun or tap device
}

// vpnLinkKinds are tunnels: traffic through them is encapsulated, usually
// encrypted, and leaves by another interface. GRE, IPIP and SIT are not
// encrypted, but media through them is tunnelled all the same, which is what
// split tunnelling is about.
var vpnLinkKinds = map[string]bool{
	"tuntap": true, "wireguard": true, "xfrm": true, "vti": true, "vti6": true,
	"ipip": true, "ip6tnl": true, "sit": true, "gre": true, "ip6gre": true, "ppp": true,
}

var vpnEncaps = map[string]bool{"none": true, "ppp": true, "ipip": true, "tunnel6": true, "sit": true, "gre": true}

// Classify names the kind of an interface; "" when the facts fit none.
// Checks run from the most specific evidence to the least: loopback, then
// tunnels, then wifi, then software links, then an Ethernet device with a
// driver of its own, which is wired.
func Classify(f Facts) string {
	switch {
	case f.Loopback || f.Encap == "loopback":
		return Loopback
	case vpnLinkKinds[f.LinkKind] || f.TunMode != "" || f.TunFlags ||
		f.DevType == "wireguard" || f.DevType == "ppp" || vpnEncaps[f.Encap]:
		return VPN
	case f.Wireless || f.DevType == "wlan" || strings.HasPrefix(f.Encap, "ieee802.11"):
		return WiFi
	case f.LinkKind != "" && f.LinkKind != "device":
		// Every other link kind is software inside the host: a container's
		// veth, a bridge, a dummy, a VLAN or macvlan on a real link (whose
		// own kind the route through it shows), a bond.
		return Virtual
	case f.Encap == "ether" || f.Encap == "infiniband":
		return Wired
	}
	return ""
}

// VPNWarning is the note for Teams media (audio, video, screen share) that
// runs through a VPN interface. Microsoft asks that Teams media bypass VPN
// tunnels (split tunnelling of the "Optimize" endpoints, which include the
// Teams media ranges 13.107.64.0/18, 52.112.0.0/14, 52.122.0.0/15 on UDP
// 3478-3481): Microsoft Learn, "Implementing VPN split tunneling for
// Microsoft 365" and "Optimize Teams media for remote workers / VPN split
// tunnel" guidance.
func VPNWarning(kind, label string) (string, bool) {
	if kind != VPN || (label != record.LabelAudio && label != record.LabelVideo && label != record.LabelScreenshare) {
		return "", false
	}
	return "Teams media through a VPN tunnel: Microsoft asks for split tunnelling of Teams media", true
}
