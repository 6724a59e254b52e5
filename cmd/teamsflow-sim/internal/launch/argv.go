// Package launch starts the simulated client processes so that they look
// like the real thing to /proc: the simulator binary is linked under the
// client's executable name (so comm and the exe basename match) and run
// with the command line the real client has, including Electron/Chromium
// parent and network-service child processes.
package launch

import (
	"path/filepath"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// TeamsWebURL is the Teams web app opened with --app; TeamsPWAAppID is the
// app id Chromium gives the installed Teams PWA.
const (
	TeamsWebURL   = "https://teams.microsoft.com/v2/"
	TeamsPWAAppID = "cifhbcnohmdccbgoicgdjpfamggdegmo"
)

// exePath is where each client's executable lives, relative to the
// install root, as on a real Linux desktop.
var exePath = map[string]string{
	scenario.ClientMSTeams:       "opt/microsoft/msteams/ms-teams",
	scenario.ClientTeamsForLinux: "opt/teams-for-linux/teams-for-linux",
	scenario.ClientChrome:        "opt/google/chrome/chrome",
	scenario.ClientEdge:          "opt/microsoft/msedge/msedge",
	scenario.ClientZoom:          "opt/zoom/zoom",
}

// networkServiceArgs are what Chromium and Electron pass to the utility
// process that owns every socket of the browser.
var networkServiceArgs = []string{
	"--type=utility",
	"--utility-sub-type=network.mojom.NetworkService",
	"--lang=en-US",
	"--service-sandbox-type=none",
	"--enable-crash-reporter=,",
	"--change-stack-guard-on-fork=enable",
	"--shared-files=v8_context_snapshot_data:100",
	"--field-trial-handle=3,i,8476542151241367124,1427489571452412544,262144",
	"--variations-seed-version",
}

// ParentArgv is the command line of the process the user started.
func ParentArgv(client, exe, webApp string) []string {
	switch client {
	case scenario.ClientMSTeams:
		return []string{exe, "msteams:system-initiated"}
	case scenario.ClientChrome, scenario.ClientEdge:
		if webApp == "pwa" {
			return []string{exe, "--profile-directory=Default", "--app-id=" + TeamsPWAAppID}
		}
		return []string{exe, "--profile-directory=Default", "--app=" + TeamsWebURL}
	}
	return []string{exe}
}

// ChildArgv is the command line of the network-service child, or nil for
// clients that do their networking in one process.
func ChildArgv(client, exe string) []string {
	switch client {
	case scenario.ClientTeamsForLinux:
		dataDir := "--user-data-dir=/home/user/.config/teams-for-linux"
		return append([]string{exe}, append(append([]string{}, networkServiceArgs...), dataDir)...)
	case scenario.ClientChrome, scenario.ClientEdge:
		return append([]string{exe}, networkServiceArgs...)
	}
	return nil
}

// Comm is the process name the kernel records for a client's exe.
func Comm(client string) string { return filepath.Base(exePath[client]) }
