// Package topo owns the simulator's two network namespaces: the client
// namespace (where the simulated Teams process runs and an observer
// attaches) and the cloud namespace (DNS, HTTPS, TURN, media peers), joined
// by one veth pair. Every address the simulator uses lives on that pair, so
// public-looking Teams addresses never reach a real network.
package topo

// The link between the namespaces. The cloud end is the client's default
// gateway and its resolver, like a home router.
const (
	ClientIface = "eth0"
	CloudIface  = "cloud0"
	ClientIP    = "10.99.0.2"
	GatewayIP   = "10.99.0.1"
	ClientIP6   = "fd99::2"
	GatewayIP6  = "fd99::1"
	DNSServer   = GatewayIP + ":53"
)

// RelayIP is the Teams transport relay (TURN on UDP 3478-3481).
const RelayIP = "52.114.250.10"

// RelayPorts are the relay's UDP ports; 3479/3480/3481 were meant for
// audio/video/sharing.
var RelayPorts = []int{3478, 3479, 3480, 3481}

// Record is one DNS name as the seed analysis saw it: a CNAME chain that
// ends in addresses.
type Record struct {
	Name   string
	CNAMEs []string
	A      []string
	AAAA   []string
}

// Zone is what the simulated resolver answers. Names under msg.skype.com
// are matched by wildcard. Some names deliberately resolve outside the
// Teams media ranges (api.cc.skype.com into Azure) so that only the DNS
// and SNI evidence identifies them.
var Zone = []Record{
	{Name: "teams.microsoft.com", CNAMEs: []string{"s-0001.s-msedge.net"},
		A: []string{"52.113.194.132"}, AAAA: []string{"2603:1063:4::3"}},
	{Name: "api.cc.skype.com", CNAMEs: []string{"api-cc-skype.trafficmanager.net", "a-cc-neu-01-skype.cloudapp.net"},
		A: []string{"20.42.65.92"}},
	{Name: "pipe.skype.com", CNAMEs: []string{"pipe.prd.skypedata.akadns.net", "pipe-neu-01.cloudapp.net"},
		A: []string{"52.114.158.91"}},
	{Name: "*.msg.skype.com", CNAMEs: []string{"msg-neu.trafficmanager.net", "msg-neu-02.cloudapp.net"},
		A: []string{"52.113.205.10"}},
	{Name: "webdir.online.lync.com", CNAMEs: []string{"webdir.online.lync.com.akadns.net"},
		A: []string{"52.112.196.10"}},
	{Name: "worldaz.relay.teams.microsoft.com", CNAMEs: []string{"worldaz.tr.teams.trafficmanager.net"},
		A: []string{RelayIP}},
	// The negative's names: Zoom, not Microsoft.
	{Name: "zoom.us", A: []string{"170.114.52.2"}},
	{Name: "us05web.zoom.us", CNAMEs: []string{"us05web.zoom.us.cdn.cloudflare.net"}, A: []string{"170.114.52.3"}},
}

// Lookup finds the record for a name, honouring the wildcard entries.
func Lookup(name string) (Record, bool) {
	for _, r := range Zone {
		if r.Name == name {
			return r, true
		}
	}
	for _, r := range Zone {
		if len(r.Name) > 2 && r.Name[:2] == "*." && hasSuffix(name, r.Name[1:]) {
			r.Name = name
			return r, true
		}
	}
	return Record{}, false
}

func hasSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix
}

// ServiceAddrs lists every address the cloud namespace must own for the
// zone and the relay.
func ServiceAddrs() []string {
	out := []string{RelayIP}
	for _, r := range Zone {
		out = append(out, r.A...)
		out = append(out, r.AAAA...)
	}
	return out
}
