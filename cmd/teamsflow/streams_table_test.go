package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

func ptr[T any](v T) *T { return &v }

func tableFixture(now time.Time) []record.Record {
	start := now.Add(-125 * time.Second)
	teams := func(label string, lport uint16, peer string, pport uint16, dscp uint8, bps float64) record.Record {
		return record.Record{Transport: "udp", Family: "ipv4", LocalPort: lport, PeerAddr: peer, PeerPort: pport,
			PID: 4242, Comm: "ms-teams", App: "teams", Label: label, CallID: "call-1", DSCPSent: dscp,
			RateSentBps: bps, RateRecvBps: bps / 2, FirstSeen: start, LastSeen: now}
	}
	video := teams("video", 50020, "52.112.65.10", 3480, 34, 1_234_567)
	video.RTPLossPct, video.RTPJitterMs = ptr(1.25), ptr(7.5)
	video.RTTMs, video.Quality, video.QualityCovers = ptr(42.4), "poor", "received"
	video.QualityReasons = []string{"frame rate 5.0 fps < 7 fps"}
	audio := teams("audio", 50000, "52.112.65.10", 3479, 46, 40_500)
	audio.RTTMs, audio.Quality, audio.QualityCovers = ptr(3.25), "good", "sent"
	sig := teams("signalling", 41000, "2603:1063:4::3", 443, 0, 3_200)
	sig.Transport, sig.Family, sig.ServerName = "tcp", "ipv6", "teams.microsoft.com"
	relayed := teams("audio", 50001, "52.114.250.10", 3478, 46, 64_000)
	relayed.Relayed = true
	relayed.InterfaceKind, relayed.PathWarning = "vpn", "Teams media through a VPN tunnel"
	browser := record.Record{Transport: "tcp", Family: "ipv4", LocalPort: 40100, PeerAddr: "1.2.3.4", PeerPort: 443,
		PID: 77, Comm: "curl", RateSentBps: 10, FirstSeen: now.Add(-3 * time.Hour), LastSeen: now}
	outside := teams("signalling", 41001, "52.113.1.1", 443, 0, 0)
	outside.CallID = ""
	return []record.Record{browser, video, teams("screenshare", 50040, "52.112.65.10", 3481, 18, 500),
		audio, sig, outside, relayed}
}

func TestStreamTable(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.Local)
	var out bytes.Buffer
	if err := renderStreams(&out, tableFixture(now), now, tableOptions{allApps: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	header := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(lines[0]), -1)
	if strings.Join(header, "|") != strings.Join(streamColumns, "|") {
		t.Fatalf("header %q", header)
	}
	want := []struct{ prefix, row string }{
		{"CALL call-1: ms-teams 4242, 5 streams, since 09:57:55, relayed, poor: video received: frame rate 5.0 fps < 7 fps", ""},
		{"  ", "ms-teams|4242|teams|signalling|tcp6|41000|[2603:1063:4::3]:443 teams.microsoft.com|BE|3.2 kbit/s|1.6 kbit/s|-|-|-|2m05s|-"},
		{"  ", "ms-teams|4242|teams|audio|udp|50000|52.112.65.10:3479|EF|40.5 kbit/s|20.2 kbit/s|-|-|3.2 ms|2m05s|ok"},
		{"  ", "ms-teams|4242|teams|audio+relay|udp|50001|52.114.250.10:3478|EF|64.0 kbit/s|32.0 kbit/s|-|-|-|2m05s|via vpn"},
		{"  ", "ms-teams|4242|teams|video|udp|50020|52.112.65.10:3480|AF41|1.23 Mbit/s|617.3 kbit/s|1.2%|7.5 ms|42 ms|2m05s|poor: frame rate 5.0 fps < 7 fps"},
		{"  ", "ms-teams|4242|teams|screenshare|udp|50040|52.112.65.10:3481|AF21|500 bit/s|250 bit/s|-|-|-|2m05s|-"},
		{"TEAMS, outside calls", ""},
		{"  ", "ms-teams|4242|teams|signalling|udp|41001|52.113.1.1:443|BE|0|0|-|-|-|2m05s|-"},
		{"OTHER APPS", ""},
		{"  ", "curl|77|-|-|tcp|40100|1.2.3.4:443|BE|10 bit/s|0|-|-|-|3h00m|-"},
	}
	if len(lines)-1 != len(want) {
		t.Fatalf("%d lines, want %d", len(lines)-1, len(want))
	}
	for i, w := range want {
		line := lines[i+1]
		if w.row == "" {
			if line != w.prefix {
				t.Errorf("line %d = %q, want %q", i+1, line, w.prefix)
			}
			continue
		}
		cells := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		// The peer cell holds one space between address and name.
		if got := strings.Join(cells, "|"); got != w.row || !strings.HasPrefix(line, w.prefix) {
			t.Errorf("line %d = %q\nwant cells %q", i+1, got, w.row)
		}
	}
	// Columns line up: every row's PEER column starts where the header's does.
	col := strings.Index(lines[0], "PEER")
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "  ") && l[col-2:col] != "  " {
			t.Errorf("misaligned row %q", l)
		}
	}
}

func TestStreamTableCutsToWidth(t *testing.T) {
	now := time.Now()
	var out bytes.Buffer
	_ = renderStreams(&out, tableFixture(now), now, tableOptions{allApps: true, width: 40})
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if len([]rune(l)) > 40 {
			t.Errorf("line longer than 40: %q", l)
		}
	}
}

func TestEmptyTableSaysWhy(t *testing.T) {
	var out bytes.Buffer
	_ = renderStreams(&out, nil, time.Now(), tableOptions{})
	if !strings.Contains(out.String(), "--all-apps") {
		t.Errorf("%q", out.String())
	}
}

func TestDSCPNames(t *testing.T) {
	want := map[uint8]string{0: "BE", 1: "LE", 8: "CS1", 10: "AF11", 12: "AF12", 14: "AF13", 18: "AF21", 26: "AF31",
		34: "AF41", 36: "AF42", 38: "AF43", 40: "CS5", 44: "VA", 46: "EF", 48: "CS6", 56: "CS7", 5: "5", 42: "42", 63: "63"}
	for d, name := range want {
		if got := dscpName(d); got != name {
			t.Errorf("dscp %d = %s, want %s", d, got, name)
		}
	}
}

func TestHumanRateAndAge(t *testing.T) {
	rates := map[float64]string{0: "0", 999: "999 bit/s", 1000: "1.0 kbit/s", 64_000: "64.0 kbit/s", 1_500_000: "1.50 Mbit/s", 2e9: "2.00 Gbit/s"}
	for bps, want := range rates {
		if got := humanRate(bps); got != want {
			t.Errorf("%v bit/s = %q, want %q", bps, got, want)
		}
	}
	ages := map[time.Duration]string{-time.Second: "0s", 42 * time.Second: "42s", 185 * time.Second: "3m05s", 7620 * time.Second: "2h07m"}
	for d, want := range ages {
		if got := age(d); got != want {
			t.Errorf("age %s = %q, want %q", d, got, want)
		}
	}
}
