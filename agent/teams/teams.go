// Package teams decides whether a stream belongs to Microsoft Teams and
// says why. On Linux Teams is a desktop process (ms-teams, teams,
// teams-for-linux and their Electron children) or a web app inside a
// browser whose network service is shared with every other tab, so a
// browser flow counts as Teams only with destination or call evidence.
package teams

import (
	"net/url"
	"path"
	"strings"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// ProcessKind is what the owner of a socket (with its ancestors) is.
type ProcessKind uint8

const (
	ProcessUnknown    ProcessKind = iota // no owner: capture files, unattributed sockets
	ProcessOther                         // a known process that is neither Teams nor a browser
	ProcessBrowser                       // a browser with no Teams app in its ancestry
	ProcessBrowserApp                    // a browser started as the Teams web app or PWA
	ProcessDesktop                       // a Teams desktop client or one of its children
)

// Evidence names, as records and spans show them.
const (
	EvidenceProcess   = "process"
	EvidenceDestRange = "dest_range"
	EvidenceRelayPort = "relay_port"
	EvidenceDNS       = "dns"
	EvidenceSNI       = "sni"
	EvidenceCall      = "call"
)

// App is the app name of Teams streams.
const App = "teams"

var desktopNames = map[string]bool{"ms-teams": true, "teams": true, "teams-for-linux": true, "teams-insiders": true}

var browserNames = map[string]bool{
	"chrome": true, "chromium": true, "chromium-browser": true, "google-chrome": true,
	"google-chrome-stable": true, "msedge": true, "microsoft-edge": true,
	"microsoft-edge-stable": true, "microsoft-edge-beta": true, "firefox": true,
	"firefox-esr": true, "firefox-bin": true,
}

// pwaAppIDs are browser app ids of the installed Teams PWA.
var pwaAppIDs = []string{"cifhbcnohmdccbgoicgdjpfamggdegmo"}

// appHosts are the hosts a browser opens as the Teams web app.
var appHosts = []string{"teams.microsoft.com", "teams.cloud.microsoft", "teams.live.com"}

// Process classifies a socket owner from its own and its ancestors'
// comm, executable and command line.
func Process(o *observe.Owner) ProcessKind {
	if o == nil {
		return ProcessUnknown
	}
	chain := append([]observe.Process{o.Process}, o.Ancestors...)
	if o.Thread != "" && o.Thread != o.Comm {
		// A thread renamed after the process's exec (prctl) may carry
		// the app's name where the process's name does not.
		chain = append(chain, observe.Process{Comm: o.Thread})
	}
	browser := false
	for _, p := range chain {
		switch {
		case matches(p, desktopNames):
			return ProcessDesktop
		case matches(p, browserNames):
			browser = true
		}
	}
	if !browser {
		return ProcessOther
	}
	for _, p := range chain {
		if matches(p, browserNames) && opensTeamsApp(p.Cmdline) {
			return ProcessBrowserApp
		}
	}
	return ProcessBrowser
}

// matches compares comm, the executable's base name and argv[0]'s base
// name with a set of names.
func matches(p observe.Process, names map[string]bool) bool {
	if names[strings.ToLower(p.Comm)] || (p.Exe != "" && names[strings.ToLower(path.Base(p.Exe))]) {
		return true
	}
	return len(p.Cmdline) > 0 && names[strings.ToLower(path.Base(p.Cmdline[0]))]
}

// opensTeamsApp looks for the Teams PWA app id or a Teams app URL in a
// browser's arguments (--app=URL, --app-id=ID, or a plain URL argument).
func opensTeamsApp(argv []string) bool {
	for _, arg := range argv[min(1, len(argv)):] {
		for _, id := range pwaAppIDs {
			if strings.Contains(arg, id) {
				return true
			}
		}
		if _, v, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(arg, "--") {
			arg = v
		}
		u, err := url.Parse(arg)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			continue
		}
		host := strings.ToLower(u.Hostname())
		for _, h := range appHosts {
			if host == h || strings.HasSuffix(host, "."+h) {
				return true
			}
		}
	}
	return false
}

// Evidence is what is known about one stream.
type Evidence struct {
	Process   ProcessKind
	DestRange bool // peer address in a Teams range
	RelayPort bool // UDP to a Teams relay port
	DNS       bool // peer named by a DNS answer for a Teams name
	SNI       bool // the flow's TLS server name is a Teams name
	Call      bool // same process or socket as a Teams media stream at the time
}

// Destination says whether the peer itself is known to be Teams.
func (e Evidence) Destination() bool { return e.DestRange || e.DNS || e.SNI }

// Verdict returns the app ("teams" or "") and the evidence that decided
// it. A Teams desktop process is Teams whatever it talks to; anything else
// needs a Teams destination or call. A relay port alone is not enough:
// UDP 3478 is every STUN server's port.
func (e Evidence) Verdict() (app string, evidence []string) {
	if e.Process != ProcessDesktop && !e.Destination() && !e.Call {
		return "", nil
	}
	if e.Process == ProcessDesktop || e.Process == ProcessBrowserApp {
		evidence = append(evidence, EvidenceProcess)
	}
	for _, ev := range []struct {
		on   bool
		name string
	}{{e.DestRange, EvidenceDestRange}, {e.RelayPort, EvidenceRelayPort}, {e.DNS, EvidenceDNS}, {e.SNI, EvidenceSNI}, {e.Call, EvidenceCall}} {
		if ev.on {
			evidence = append(evidence, ev.name)
		}
	}
	return App, evidence
}
