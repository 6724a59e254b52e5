package netif

import "testing"

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		f    Facts
		want string
	}{
		{"lo", Facts{Encap: "loopback", Loopback: true}, Loopback},
		{"NIC", Facts{Encap: "ether"}, Wired},
		{"NIC with sysfs", Facts{Encap: "ether", DevType: ""}, Wired},
		{"infiniband", Facts{Encap: "infiniband"}, Wired},
		{"wifi by wireless entry", Facts{Encap: "ether", Wireless: true}, WiFi},
		{"wifi by DEVTYPE", Facts{Encap: "ether", DevType: "wlan"}, WiFi},
		{"wifi monitor", Facts{Encap: "ieee802.11/radiotap"}, WiFi},
		{"tun", Facts{Encap: "none", LinkKind: "tuntap", TunMode: "tun"}, VPN},
		{"tap (ether encap)", Facts{Encap: "ether", LinkKind: "tuntap", TunMode: "tap"}, VPN},
		{"tap seen only through sysfs", Facts{Encap: "ether", TunFlags: true}, VPN},
		{"wireguard", Facts{Encap: "none", LinkKind: "wireguard"}, VPN},
		{"wireguard by DEVTYPE", Facts{Encap: "none", DevType: "wireguard"}, VPN},
		{"ppp", Facts{Encap: "ppp"}, VPN},
		{"ipsec xfrm", Facts{Encap: "none", LinkKind: "xfrm"}, VPN},
		{"ipsec vti", Facts{Encap: "ipip", LinkKind: "vti"}, VPN},
		{"gre", Facts{Encap: "gre", LinkKind: "gre"}, VPN},
		{"veth", Facts{Encap: "ether", LinkKind: "veth"}, Virtual},
		{"bridge", Facts{Encap: "ether", LinkKind: "bridge", DevType: "bridge"}, Virtual},
		{"dummy", Facts{Encap: "ether", LinkKind: "dummy"}, Virtual},
		{"vlan", Facts{Encap: "ether", LinkKind: "vlan"}, Virtual},
		{"unknown kind", Facts{Encap: "ether", LinkKind: "something-new"}, Virtual},
		{"can bus", Facts{Encap: "unknown280"}, ""},
	}
	for _, c := range cases {
		if got := Classify(c.f); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestVPNWarning(t *testing.T) {
	for _, label := range []string{"audio", "video", "screenshare"} {
		if w, ok := VPNWarning(VPN, label); !ok || w == "" {
			t.Errorf("%s through a vpn: no warning", label)
		}
		for _, kind := range []string{Wired, WiFi, Virtual, Loopback, ""} {
			if _, ok := VPNWarning(kind, label); ok {
				t.Errorf("%s through %q: warned", label, kind)
			}
		}
	}
	for _, label := range []string{"signalling", "stun", "dns", "other"} {
		if _, ok := VPNWarning(VPN, label); ok {
			t.Errorf("%s through a vpn: warned; only media must bypass the tunnel", label)
		}
	}
}
