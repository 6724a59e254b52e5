package packaging

import (
	"os/exec"
	"os/user"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// The .rpm from `make package` installs with rpm's scriptlet arguments
// (1 on install, 0 on erase), runs as the same hardened service as the
// .deb, and an erase leaves none of its files. rpm has no purge: the
// teamsflow user and group stay, as Fedora's packaging guidelines ask.
//
// Debian's rpm installs into this machine's root with a database of the
// test's own; --nodeps because shadow-utils, which the package requires
// for useradd, is called passwd here.
func TestRpmInstallRunErase(t *testing.T) {
	requireSystemTier(t)
	testenv.RequirePrivileged(t)
	requireTool(t, "systemd-analyze", "systemd")
	requireTool(t, "rpm", "rpm")
	requireNotInstalled(t)
	_, pkg := buildPackages(t)
	rpm := rpmWithOwnDatabase(t)
	rpm("-i", "--nodeps", pkg)
	if got := rpm("-q", "--queryformat", "%{NAME}", "teamsflow"); got != "teamsflow" {
		t.Errorf("rpm -q teamsflow: %q", got)
	}
	checkInstalled(t)
	t.Run("service", testInstalledService)

	rpm("-e", "teamsflow")
	checkGone(t, "erase")
	if _, err := user.Lookup("teamsflow"); err != nil {
		t.Errorf("after erase: %v; rpm keeps the user", err)
	}
	if _, err := user.LookupGroup("teamsflow"); err != nil {
		t.Errorf("after erase: %v; rpm keeps the group", err)
	}
}

// rpmWithOwnDatabase returns a runner of rpm with a new database of the
// test's own. When the test ends, teamsflow is erased if it is still
// installed, and the user and group an erase keeps are removed.
func rpmWithOwnDatabase(t *testing.T) func(args ...string) string {
	t.Helper()
	db := t.TempDir()
	t.Cleanup(func() {
		_ = exec.Command("rpm", "--dbpath", db, "-e", "teamsflow").Run()
		_ = exec.Command("userdel", "teamsflow").Run()
		_ = exec.Command("groupdel", "teamsflow").Run()
	})
	rpm := func(args ...string) string { return run(t, "rpm", append([]string{"--dbpath", db}, args...)...) }
	rpm("--initdb")
	return rpm
}
