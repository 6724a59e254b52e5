//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// Without the capabilities that let it read /proc/PID/fd of other users'
// processes the agent runs, and says once, in one line, what is lost.
func TestRunWarnsWithoutBackfillCapabilities(t *testing.T) {
	testenv.RequirePrivileged(t)
	cases := map[string]string{
		"-sys_ptrace":                  "missing CAP_SYS_PTRACE: sockets that other users' processes opened before the agent started will have no owner",
		"-dac_read_search":             "missing CAP_DAC_READ_SEARCH: sockets",
		"-sys_ptrace,-dac_read_search": "missing CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE: sockets",
	}
	for drop, want := range cases {
		t.Run(drop, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "api.sock")
			agent := startRunWrapped(t, []string{"setpriv", "--bounding-set=" + drop, "--"}, socket)
			var warnings []string
			for _, line := range strings.Split(agent.stderr.String(), "\n") {
				if strings.Contains(line, "CAP_") {
					warnings = append(warnings, line)
				}
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], `"level":"warn"`) || !strings.Contains(warnings[0], want) {
				t.Errorf("capability warnings %q; want one warn line with %q", warnings, want)
			}
			streamsJSON(t, socket) // it answers
			agent.stop(t)
		})
	}
	t.Run("all capabilities", func(t *testing.T) {
		agent := startRun(t, filepath.Join(t.TempDir(), "api.sock"))
		if strings.Contains(agent.stderr.String(), "CAP_") {
			t.Errorf("a warning with every capability:\n%s", agent.stderr)
		}
		agent.stop(t)
	})
}

// Without one of the capabilities it cannot work without, the agent
// stops with one line naming it, before attaching anything. Still root,
// it says so: running as root again would not help.
func TestRunMissingCapabilityFails(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.NewPair(t)
	for drop, name := range map[string]string{"-bpf": "CAP_BPF", "-perfmon": "CAP_PERFMON", "-net_admin": "CAP_NET_ADMIN",
		"-bpf,-net_admin": "CAP_BPF, CAP_NET_ADMIN", "-sys_admin": "CAP_SYS_ADMIN"} {
		t.Run(drop, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "api.sock")
			stdout, stderr, code := runCLI(t, []string{"setpriv", "--bounding-set=" + drop, "--"},
				"run", "--socket", socket, "--group", "", "--tc-mode", "clsact", "--netns", p.Client.Path())
			want := "teamsflow: missing privileges: " + name +
				" (running as root, but the container or service unit dropped them: add them to its capabilities)\n"
			if code != 1 || stderr != want || stdout != "" {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
			}
			checkNothingLeft(t, p.Client.Path(), socket)
		})
	}
}

// Bad configuration, from flags, the environment or the file, stops the
// agent with one line naming the setting and a non-zero exit, and leaves
// nothing attached and no socket behind.
func TestRunBadConfigurationAttachesNothing(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.NewPair(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badYAML := write("bad.yaml", "poll_interval: [1s\n")
	unknownKey := write("unknown.yaml", "api:\n  sock: /x\n")
	badNames := write("names.yaml", "ranges: 7\n")
	cases := []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"--poll-interval", "soon"}, `invalid --poll-interval: want a duration such as 1s, 500ms or 2m, got "soon"`},
		{"", []string{"--tc-mode", "xdp"}, `--tc-mode: "xdp" is not a mode: use auto, tcx or clsact`},
		{"", []string{"--no-such-flag"}, `unknown flag: --no-such-flag`},
		{"", []string{"--export-endpoint", "collector"}, `--export-endpoint: "collector" is neither host:port nor a URL`},
		{"", []string{"--qos-audio-ports", "50019-50000"}, `invalid --qos-audio-ports: range "50019-50000" is backwards`},
		{"", []string{"--export-ca-file", "/nonexistent/ca.pem"}, `--export-ca-file: "/nonexistent/ca.pem": no such file or directory`},
		{"", []string{"--interfaces", "nosuch0"}, `unknown interface "nosuch0"`},
		{"", []string{"--names-file", badNames}, badNames + ":1:"},
		{"", []string{"--config", badYAML}, badYAML + ": line 1: did not find expected ',' or ']'"},
		{"", []string{"--config", unknownKey}, unknownKey + `:2: unknown key "api.sock" (known: api.socket, api.group)`},
		{"TEAMSFLOW_IDLE_TIMEOUT=forever", nil, `TEAMSFLOW_IDLE_TIMEOUT: want a duration such as 1s, 500ms or 2m, got "forever"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(append([]string{c.env}, c.args...), " "), func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "api.sock")
			var wrap []string
			if c.env != "" {
				wrap = []string{"env", c.env}
			}
			// A later --config or --tc-mode in c.args wins over these.
			args := append([]string{"run", "--socket", socket, "--group", "", "--tc-mode", "clsact",
				"--netns", p.Client.Path(), "--config", write("empty.yaml", "")}, c.args...)
			stdout, stderr, code := runCLI(t, wrap, args...)
			if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "teamsflow: ") ||
				!strings.Contains(stderr, c.want) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line with %q", code, stderr, stdout, c.want)
			}
			checkNothingLeft(t, p.Client.Path(), socket)
		})
	}
}

// checkNothingLeft: no program on the namespace's interfaces (clsact
// filters would outlive the process) and no socket file.
func checkNothingLeft(t *testing.T, nsPath, socket string) {
	t.Helper()
	if a := netnsAttachments(t, nsPath); countPrograms(a) != 0 {
		t.Errorf("programs left on the interfaces: %+v", a)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("the API socket is left behind: %v", err)
	}
}
