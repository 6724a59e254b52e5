//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/teamsflow/teamsflow/agent/config"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// --print-config shows flags over TEAMSFLOW_* over the file over defaults.
func TestPrintConfigPrecedence(t *testing.T) {
	file := writeConfig(t, "poll_interval: 2s\nidle_timeout: 30s\napi:\n  group: adm\nexport:\n  headers: {api-key: s3cret}\n")
	env := []string{"env", "TEAMSFLOW_POLL_INTERVAL=3s", "TEAMSFLOW_IDLE_TIMEOUT=40s"}
	stdout, stderr, code := runCLI(t, env, "run", "--config", file, "--print-config", "--poll-interval", "4s", "--netns", "/run/netns/a", "--netns", "/run/netns/b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		MemoryLimitMB int      `yaml:"memory_limit_mb"`
		PollInterval  string   `yaml:"poll_interval"`
		IdleTimeout   string   `yaml:"idle_timeout"`
		Netns         []string `yaml:"netns"`
		API           struct{ Group, Socket string }
		Export        struct{ Headers map[string]string }
	}
	if err := yaml.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.PollInterval != "4s" || got.IdleTimeout != "40s" || got.API.Group != "adm" || got.API.Socket != "/run/teamsflow/api.sock" ||
		strings.Join(got.Netns, ",") != "/run/netns/a,/run/netns/b" || got.Export.Headers["api-key"] != "<redacted>" ||
		got.MemoryLimitMB != config.DefaultMemoryLimitMB {
		t.Errorf("effective configuration:\n%s", stdout)
	}
}

// A bad configuration is one line naming the key, and the agent does not
// start (it never reaches the privilege check or the kernel).
func TestRunBadConfigurationIsOneLine(t *testing.T) {
	bad := writeConfig(t, "api:\n  socket: /tmp/x.sock\n  grupe: adm\n")
	absent := filepath.Join(t.TempDir(), "absent.yaml")
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--config", bad}, bad + `:3: unknown key "api.grupe" (known: api.socket, api.group)`},
		{nil, []string{"--config", absent}, "reading the configuration: open " + absent + ": no such file or directory"},
		{nil, []string{"--poll-interval", "soon"}, `invalid --poll-interval: want a duration such as 1s, 500ms or 2m, got "soon"`},
		{nil, []string{"--tc-mode", "xdp"}, `--tc-mode: "xdp" is not a mode: use auto, tcx or clsact`},
		{nil, []string{"--log-level", "loud"}, `--log-level: "loud" is not a level: use debug, info, warn or error`},
		{[]string{"env", "TEAMSFLOW_FLOW_MAP_SIZE=0"}, nil, "TEAMSFLOW_FLOW_MAP_SIZE: 0 is out of range: use 1 to 16777216"},
		{nil, []string{"--memory-limit-mb", "4"}, "--memory-limit-mb: 4 is out of range: use 16 to 1048576 (or 0 for none)"},
		{nil, []string{"--netns", "/run/netns/tf-h3-absent"}, `--netns: "/run/netns/tf-h3-absent": no such file or directory`},
		{nil, []string{"--group", "tf-h3-no-group"}, `--group: no group named "tf-h3-no-group" on this system`},
	}
	for _, c := range cases {
		stdout, stderr, code := runCLI(t, c.env, append([]string{"run", "--socket", "/tmp/tf-h3-never.sock"}, c.args...)...)
		if code != 1 || stderr != "teamsflow: "+c.want+"\n" || stdout != "" {
			t.Errorf("%v %v: exit %d, stderr %q; want exit 1 and %q", c.env, c.args, code, stderr, "teamsflow: "+c.want)
		}
	}
	if _, err := os.Stat("/tmp/tf-h3-never.sock"); err == nil {
		t.Error("a refused start created its socket")
	}
}
