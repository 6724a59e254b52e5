package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// adminLine is what the tests add to the installed configuration, as an
// admin would edit it.
const adminLine = "\n# edited by the admin\n"

// An upgrade of either package replaces the binary, keeps the admin's
// edits to the configuration, and leaves the service enabled: the old
// package's removal scripts see an upgrade (deb "upgrade", rpm 1), not a
// removal. Removing the package afterwards removes everything but, for
// rpm, the edited configuration, kept as .rpmsave.
func TestUpgradeKeepsConfigAndService(t *testing.T) {
	requireSystemTier(t)
	testenv.RequirePrivileged(t)
	requireTool(t, "rpm", "rpm")
	requireNotInstalled(t)
	dir := t.TempDir()
	oldDeb, oldRPM := mustMakePackages(t, filepath.Join(dir, "old"), "v9.0.0")
	newDeb, newRPM := mustMakePackages(t, filepath.Join(dir, "new"), "v9.0.1")

	t.Run("deb", func(t *testing.T) {
		t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "teamsflow").Run() })
		run(t, "dpkg", "-i", oldDeb)
		editConfig(t)
		run(t, "dpkg", "-i", newDeb)
		checkUpgraded(t, "9.0.1")
		run(t, "dpkg", "--purge", "teamsflow")
		checkGone(t, "purge")
	})
	t.Run("rpm", func(t *testing.T) {
		rpm := rpmWithOwnDatabase(t)
		rpm("-i", "--nodeps", oldRPM)
		editConfig(t)
		rpm("-U", "--nodeps", newRPM)
		checkUpgraded(t, "9.0.1")
		if got := rpm("-q", "--queryformat", "%{VERSION}", "teamsflow"); got != "9.0.1" {
			t.Errorf("rpm -q teamsflow after the upgrade: version %q; want 9.0.1", got)
		}
		// rpm has no purge: an erase keeps edited configuration aside.
		rpm("-e", "teamsflow")
		saved, err := os.ReadFile("/etc/teamsflow/config.yaml.rpmsave")
		if err != nil || !strings.HasSuffix(string(saved), adminLine) {
			t.Errorf("the erase did not keep the edited config.yaml as config.yaml.rpmsave (%v)", err)
		}
		if err := os.RemoveAll("/etc/teamsflow"); err != nil {
			t.Fatal(err)
		}
		checkGone(t, "erase")
	})
}

func mustMakePackages(t *testing.T, dir, version string) (deb, rpm string) {
	t.Helper()
	deb, rpm, err := makePackages(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	return deb, rpm
}

func editConfig(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/etc/teamsflow/config.yaml", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(adminLine); err != nil {
		t.Fatal(err)
	}
}

// checkUpgraded checks the machine after an upgrade to version: the new
// binary, the admin's configuration with no copy set aside, the account,
// and the service still enabled.
func checkUpgraded(t *testing.T, version string) {
	t.Helper()
	if out := run(t, "teamsflow", "version"); !strings.Contains(out, version) {
		t.Errorf("teamsflow version after the upgrade: %q; want %s", out, version)
	}
	config, err := os.ReadFile("/etc/teamsflow/config.yaml")
	if err != nil || !strings.HasSuffix(string(config), adminLine) {
		t.Errorf("the admin's edit to config.yaml was lost in the upgrade (%v)", err)
	}
	for _, aside := range []string{".rpmnew", ".rpmsave", ".dpkg-dist", ".dpkg-old"} {
		if _, err := os.Lstat("/etc/teamsflow/config.yaml" + aside); err == nil {
			t.Errorf("the upgrade set config.yaml%s aside, though the package's configuration did not change", aside)
		}
	}
	if _, err := user.Lookup("teamsflow"); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	if _, err := os.Lstat(wantsLink); err != nil {
		t.Errorf("the upgrade disabled the service: %v", err)
	}
}
