//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

var binary string

func TestMain(m *testing.M) {
	testenv.PeerMain(ownerPeerModes, healthPeerModes, liveFieldPeerModes)
	var err error
	if binary, err = testenv.BuildMain("./cmd/teamsflow"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.RunTests(m)
}

// runCLI runs the built binary and returns stdout, stderr and exit code.
func runCLI(t *testing.T, wrap []string, args ...string) (string, string, int) {
	t.Helper()
	argv := append(append([]string{}, wrap...), append([]string{binary}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestBadInputIsOneClearLine(t *testing.T) {
	testenv.RequirePrivileged(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"capture", "--duration", "0s"}, "invalid --duration 0s: must be greater than zero"},
		{[]string{"capture", "--duration", "-5s"}, "invalid --duration -5s"},
		{[]string{"capture", "--duration", "soon"}, `invalid argument "soon" for "--duration"`},
		{[]string{"capture", "--duration", "1s", "--interfaces", "nosuch0"}, `unknown interface "nosuch0"`},
		{[]string{"capture", "--duration", "1s", "--tc-mode", "xdp"}, `invalid --tc-mode "xdp"`},
		{[]string{"capture", "--duration", "1s", "--netns", "/run/netns/does-not-exist"}, `invalid --netns "/run/netns/does-not-exist"`},
		{[]string{"capture", "--duration", "1s", "--log-level", "loud"}, `invalid --log-level "loud"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, nil, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(stderr, c.want) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line containing %q", code, stderr, stdout, c.want)
			}
		})
	}
}

// Without privileges the agent names what is missing and attaches nothing.
func TestUnprivilegedNamesMissingCapabilities(t *testing.T) {
	testenv.RequirePrivileged(t) // to drop them
	drop := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}
	_, stderr, code := runCLI(t, drop, "capture", "--duration", "1s")
	want := "teamsflow: missing privileges: CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON (run as root, e.g. with sudo)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "teamsflow ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}
