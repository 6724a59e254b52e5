package names

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/dissect"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func TestDefaultData(t *testing.T) {
	d := Default()
	for _, a := range []string{"13.107.64.1", "52.113.194.132", "52.114.250.10", "52.123.1.1", "2603:1063:4::3", "::ffff:52.112.65.10"} {
		if !d.InTeamsRange(netip.MustParseAddr(a)) {
			t.Errorf("%s not in Teams ranges", a)
		}
	}
	for _, a := range []string{"20.42.65.92", "170.114.10.20", "198.51.100.20", "52.116.0.1", "2603:1064::1"} {
		if d.InTeamsRange(netip.MustParseAddr(a)) {
			t.Errorf("%s in Teams ranges", a)
		}
	}
	for _, n := range []string{"teams.microsoft.com", "Emea.NG.msg.teams.microsoft.com.", "pipe.skype.com", "webdir.online.lync.com", "x.teams.live.com", "teams.cloud.microsoft"} {
		if !d.IsTeamsName(n) {
			t.Errorf("%s not a Teams name", n)
		}
	}
	for _, n := range []string{"microsoft.com", "skype.com", "s-0001.s-msedge.net", "zoom.us", "github.com", "notteams.microsoft.com.evil.org"} {
		if d.IsTeamsName(n) {
			t.Errorf("%s is a Teams name", n)
		}
	}
	if !d.IsRelayPort(3478) || !d.IsRelayPort(3481) || d.IsRelayPort(3482) || d.IsRelayPort(443) {
		t.Errorf("relay ports %+v", d.RelayPorts)
	}
}

func TestLoadDataOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "teams.yaml")
	if err := os.WriteFile(path, []byte("ranges:\n  - 10.1.0.0/16\nrelay_ports: 3478\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(path)
	if err != nil {
		t.Fatal(err)
	}
	if !d.InTeamsRange(netip.MustParseAddr("10.1.2.3")) || d.InTeamsRange(netip.MustParseAddr("52.112.0.1")) {
		t.Errorf("ranges not replaced: %v", d.Ranges)
	}
	if d.IsRelayPort(3479) || !d.IsTeamsName("teams.microsoft.com") {
		t.Errorf("override wrong: %+v", d)
	}
}

func TestParseDataErrors(t *testing.T) {
	cases := map[string]string{
		"ranges:\n  - 10.0.0.0/8\n  - 300.1.0.0/16\n": "f.yaml:3: ranges: item 1:",
		"relay_ports: 99999\n":                        "f.yaml:1: relay_ports: want FIRST-LAST",
		"relay_ports: 3481-3478\n":                    "f.yaml:1: relay_ports:",
		"names:\n  - a.*.com\n":                       "f.yaml:2: names: item 0: bad name pattern",
		"names: teams.microsoft.com\n":                "f.yaml:1: names: want a list",
		"colour: blue\n":                              "f.yaml:1: colour: unknown key",
		"- a\n":                                       "f.yaml:1: want a mapping",
		"ranges: [\n":                                 "f.yaml: yaml:",
	}
	for in, want := range cases {
		_, err := ParseData("f.yaml", []byte(in), Default())
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got %v, want prefix %q", in, err, want)
		}
	}
	if _, err := LoadData("/nonexistent/teams.yaml"); err == nil {
		t.Error("missing file: no error")
	}
}

func answer(q string, recs ...dissect.DNSRecord) dissect.DNSResponse {
	return dissect.DNSResponse{Question: q, Answers: recs}
}

func cname(n, target string, ttl uint32) dissect.DNSRecord {
	return dissect.DNSRecord{Name: n, Target: target, TTL: ttl}
}

func addr(n, a string, ttl uint32) dissect.DNSRecord {
	return dissect.DNSRecord{Name: n, Addr: netip.MustParseAddr(a), TTL: ttl}
}

func TestLearnDNSFollowsChains(t *testing.T) {
	tb := NewTable(Default(), 100)
	tb.LearnDNS(t0, 1, answer("api.cc.skype.com",
		cname("api.cc.skype.com", "api-cc-skype.trafficmanager.net", 300),
		cname("api-cc-skype.trafficmanager.net", "a-cc-neu-01-skype.cloudapp.net", 120),
		addr("a-cc-neu-01-skype.cloudapp.net", "20.42.65.92", 600),
		addr("unrelated.example.com", "192.0.2.1", 600)))
	e, ok := tb.Lookup(t0, 1, netip.MustParseAddr("20.42.65.92"))
	if !ok || e.Name != "api.cc.skype.com" || !e.Teams {
		t.Fatalf("%+v %v", e, ok)
	}
	if e.Expires != t0.Add(120*time.Second) {
		t.Errorf("expiry %v: want the chain's shortest TTL", e.Expires.Sub(t0))
	}
	if _, ok := tb.Lookup(t0, 1, netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("answer off the chain was learned")
	}
	if _, ok := tb.Lookup(t0, 2, netip.MustParseAddr("20.42.65.92")); ok {
		t.Error("name leaked into another namespace")
	}
	if _, ok := tb.Lookup(t0.Add(121*time.Second), 1, netip.MustParseAddr("20.42.65.92")); ok {
		t.Error("entry outlived its TTL")
	}
}

// A resolver that answers the chain's end separately still gives the asked name.
func TestLearnDNSAcrossAnswers(t *testing.T) {
	tb := NewTable(Default(), 100)
	tb.LearnDNS(t0, 0, answer("teams.microsoft.com", cname("teams.microsoft.com", "s-0005.s-msedge.net", 300)))
	tb.LearnDNS(t0, 0, answer("s-0005.s-msedge.net", addr("s-0005.s-msedge.net", "52.113.194.132", 0)))
	e, ok := tb.Lookup(t0.Add(10*time.Second), 0, netip.MustParseAddr("52.113.194.132"))
	if !ok || e.Name != "teams.microsoft.com" || !e.Teams {
		t.Fatalf("%+v %v (TTL 0 must still last MinTTL)", e, ok)
	}
	// Asked directly, an intermediate is not Teams.
	tb.LearnDNS(t0, 0, answer("s-0009.s-msedge.net", addr("s-0009.s-msedge.net", "13.107.42.1", 60)))
	if e, _ := tb.Lookup(t0, 0, netip.MustParseAddr("13.107.42.1")); e.Teams || e.Name != "s-0009.s-msedge.net" {
		t.Errorf("%+v", e)
	}
	// A Teams name that leads outside the intermediates keeps its name, not its Teams mark.
	tb.LearnDNS(t0, 0, answer("x.lync.com", cname("x.lync.com", "cdn.example.net", 60)))
	tb.LearnDNS(t0, 0, answer("cdn.example.net", addr("cdn.example.net", "192.0.2.9", 60)))
	if e, _ := tb.Lookup(t0, 0, netip.MustParseAddr("192.0.2.9")); e.Teams || e.Name != "x.lync.com" {
		t.Errorf("%+v", e)
	}
}

func TestTableCap(t *testing.T) {
	tb := NewTable(Default(), 2)
	for i, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		tb.LearnDNS(t0.Add(time.Duration(i)*time.Second), 0, answer("a.example", addr("a.example", a, 60)))
	}
	if tb.Len() != 2 || tb.Dropped != 1 {
		t.Fatalf("len %d dropped %d", tb.Len(), tb.Dropped)
	}
	// Once the old ones expire there is room again.
	tb.LearnDNS(t0.Add(2*time.Minute), 0, answer("a.example", addr("a.example", "192.0.2.4", 60)))
	if _, ok := tb.Lookup(t0.Add(2*time.Minute), 0, netip.MustParseAddr("192.0.2.4")); !ok || tb.Dropped != 1 {
		t.Fatalf("not learned after expiry; dropped %d", tb.Dropped)
	}
}
