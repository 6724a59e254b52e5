package teams

import (
	"slices"
	"testing"

	"github.com/teamsflow/teamsflow/agent/observe"
)

func owner(p observe.Process, ancestors ...observe.Process) *observe.Owner {
	return &observe.Owner{Process: p, Ancestors: ancestors}
}

// The owners the simulator starts (cmd/teamsflow-sim README "Processes").
func TestProcess(t *testing.T) {
	netService := []string{"chrome", "--type=utility", "--utility-sub-type=network.mojom.NetworkService"}
	cases := map[string]struct {
		o    *observe.Owner
		want ProcessKind
	}{
		"none":    {nil, ProcessUnknown},
		"desktop": {owner(observe.Process{Comm: "ms-teams", Exe: "/opt/ms/ms-teams", Cmdline: []string{"ms-teams", "msteams:system-initiated"}}), ProcessDesktop},
		"electron child": {owner(
			observe.Process{Comm: "teams-for-linux", Cmdline: []string{"/opt/teams-for-linux/teams-for-linux", "--type=utility"}},
			observe.Process{Comm: "teams-for-linux"}), ProcessDesktop},
		"renamed child of desktop": {owner(observe.Process{Comm: "ThreadPoolForeg"}, observe.Process{Exe: "/usr/bin/teams"}), ProcessDesktop},
		"chrome app url": {owner(observe.Process{Comm: "chrome", Cmdline: netService},
			observe.Process{Comm: "chrome", Cmdline: []string{"/opt/google/chrome/chrome", "--profile-directory=Default", "--app=https://teams.microsoft.com/v2/"}}), ProcessBrowserApp},
		"edge pwa": {owner(observe.Process{Comm: "msedge"},
			observe.Process{Comm: "msedge", Cmdline: []string{"msedge", "--app-id=cifhbcnohmdccbgoicgdjpfamggdegmo"}}), ProcessBrowserApp},
		"firefox url": {owner(observe.Process{Comm: "firefox", Cmdline: []string{"firefox", "https://teams.live.com/"}}), ProcessBrowserApp},
		"chrome plain": {owner(observe.Process{Comm: "chrome", Cmdline: netService},
			observe.Process{Comm: "chrome", Cmdline: []string{"chrome", "--app=https://github.com/"}}), ProcessBrowser},
		"lookalike url": {owner(observe.Process{Comm: "chrome", Cmdline: []string{"chrome", "--app=https://teams.microsoft.com.evil.org/"}}), ProcessBrowser},
		"zoom":          {owner(observe.Process{Comm: "zoom", Exe: "/opt/zoom/zoom", Cmdline: []string{"zoom"}}), ProcessOther},
		// A Teams URL in a non-browser's arguments does not make it a browser app.
		"curl": {owner(observe.Process{Comm: "curl", Cmdline: []string{"curl", "https://teams.microsoft.com/"}}), ProcessOther},
	}
	for name, c := range cases {
		if got := Process(c.o); got != c.want {
			t.Errorf("%s: got %d, want %d", name, got, c.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	cases := map[string]struct {
		e    Evidence
		app  string
		want []string
	}{
		"desktop to github":      {Evidence{Process: ProcessDesktop}, App, []string{"process"}},
		"desktop relay":          {Evidence{Process: ProcessDesktop, DestRange: true, RelayPort: true}, App, []string{"process", "dest_range", "relay_port"}},
		"browser tab elsewhere":  {Evidence{Process: ProcessBrowserApp}, "", nil},
		"browser app to teams":   {Evidence{Process: ProcessBrowserApp, SNI: true, DNS: true}, App, []string{"process", "dns", "sni"}},
		"plain browser to teams": {Evidence{Process: ProcessBrowser, DNS: true}, App, []string{"dns"}},
		"capture relay":          {Evidence{DestRange: true, RelayPort: true}, App, []string{"dest_range", "relay_port"}},
		"relay port only":        {Evidence{RelayPort: true}, "", nil},
		"p2p sibling":            {Evidence{Process: ProcessBrowserApp, Call: true}, App, []string{"process", "call"}},
		"zoom":                   {Evidence{Process: ProcessOther}, "", nil},
	}
	for name, c := range cases {
		app, ev := c.e.Verdict()
		if app != c.app || !slices.Equal(ev, c.want) {
			t.Errorf("%s: got %q %v, want %q %v", name, app, ev, c.app, c.want)
		}
	}
}
