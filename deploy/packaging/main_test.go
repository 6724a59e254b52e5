// Package packaging tests what the teamsflow package installs: the systemd
// unit (its syntax, its capability set, its hardening under a real
// systemd), the default configuration, the .deb from install to purge, the
// .rpm from install to erase (Debian's rpm, into this machine's root), and
// an upgrade of each.
// The tests run as root (they drop capabilities and make namespaces). Those
// that install packages and add the teamsflow account change the machine,
// so they run only in the system tier: `make test-system`
// (TEAMSFLOW_SYSTEM_TESTS=1), meant for throwaway machines such as CI's.
package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// binary is teamsflow built from this tree, readable and executable by
// every user (the capability tests run it as nobody).
var binary string

// repoRoot is the repository root, where make and nfpm run.
var repoRoot = filepath.Join("..", "..")

func TestMain(m *testing.M) {
	testenv.PeerMain()
	var err error
	if binary, err = testenv.BuildMain("./cmd/teamsflow"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.RunTests(m)
}

// run runs a command and returns its combined output; a failure ends the
// test with that output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// systemTierEnv turns on the tests that change the machine they run on.
const systemTierEnv = "TEAMSFLOW_SYSTEM_TESTS"

// requireSystemTier skips a test that installs packages or adds accounts,
// unless the system tier was asked for.
func requireSystemTier(t *testing.T) {
	t.Helper()
	if os.Getenv(systemTierEnv) != "1" {
		t.Skipf("installs packages and adds the teamsflow account: run 'make test-system' (%s=1) on a throwaway machine", systemTierEnv)
	}
}

// requireTool makes sure a tool is there. The system tier installs the
// Debian package that provides a missing one, so that a fresh CI machine
// needs nothing prepared by hand; elsewhere the test skips (`make deps`
// installs them all).
func requireTool(t *testing.T, tool, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err == nil {
		return
	}
	if os.Getenv(systemTierEnv) != "1" {
		t.Skipf("%s is missing: 'make deps' installs %s", tool, debianPackage)
	}
	t.Logf("%s is missing: installing %s", tool, debianPackage)
	install := exec.Command("sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "+debianPackage)
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	install.Stdout, install.Stderr = &out, &out
	if err := install.Run(); err != nil {
		t.Fatalf("installing %s for %s: %v\n%s", debianPackage, tool, err, out.String())
	}
}
