package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"golang.org/x/sys/unix"
)

// wantsLink is what enabling the service creates.
const wantsLink = "/etc/systemd/system/multi-user.target.wants/teamsflow.service"

// installed lists what the package puts on the machine; after a purge
// none of it may be left.
var installed = []string{"/usr/bin/teamsflow", "/usr/lib/systemd/system/teamsflow.service",
	"/etc/teamsflow/config.yaml", "/etc/default/teamsflow", "/usr/share/doc/teamsflow/README.md", wantsLink}

// packages are the .deb and the .rpm, built once for all tests.
var packages struct {
	once     sync.Once
	deb, rpm string
	err      error
}

// buildPackages runs `make package` (once) into the tests' temporary
// directory and returns the .deb and the .rpm.
func buildPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	packages.once.Do(func() {
		packages.deb, packages.rpm, packages.err = makePackages(filepath.Join(filepath.Dir(binary), "package"), "")
	})
	if packages.err != nil {
		t.Fatal(packages.err)
	}
	return packages.deb, packages.rpm
}

// makePackages runs `make package` into dir, with version as the
// Makefile's VERSION unless it is empty, and returns the .deb and the .rpm.
func makePackages(dir, version string) (deb, rpm string, err error) {
	args := []string{"-C", repoRoot, "package", "PKG_DIR=" + dir}
	if version != "" {
		args = append(args, "VERSION="+version)
	}
	if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("make package: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "teamsflow_*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dir, "teamsflow-*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		return "", "", fmt.Errorf("make package made %v and %v; want one .deb and one .rpm", debs, rpms)
	}
	return debs[0], rpms[0], nil
}

// The .deb from `make package` installs, runs (by hand and as a hardened
// systemd service), and leaves nothing behind after a purge.
func TestDebInstallRunPurge(t *testing.T) {
	requireSystemTier(t)
	testenv.RequirePrivileged(t)
	requireTool(t, "systemd-analyze", "systemd")
	requireNotInstalled(t)
	deb, _ := buildPackages(t)
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "teamsflow").Run() })
	run(t, "dpkg", "-i", deb)
	checkInstalled(t)
	t.Run("service", testInstalledService)

	run(t, "dpkg", "--purge", "teamsflow")
	checkGone(t, "purge")
	if _, err := user.Lookup("teamsflow"); err == nil {
		t.Error("after purge the user teamsflow is still there")
	}
	if _, err := user.LookupGroup("teamsflow"); err == nil {
		t.Error("after purge the group teamsflow is still there")
	}
}

// requireNotInstalled ends the test when teamsflow (the package, or the
// account it creates) is already on this machine: the tests install and
// remove both, and would take the machine's own with them.
func requireNotInstalled(t *testing.T) {
	t.Helper()
	if exec.Command("dpkg", "-s", "teamsflow").Run() == nil {
		t.Fatal("the teamsflow package is already installed on this machine: remove it (dpkg --purge teamsflow) before this test")
	}
	if _, err := user.Lookup("teamsflow"); err == nil {
		t.Fatal("the user teamsflow already exists on this machine: remove it (userdel teamsflow) before this test")
	}
}

// checkInstalled checks what an installed package gives: its files, the
// teamsflow user and group, a binary that knows its version and captures,
// and a unit systemd accepts.
func checkInstalled(t *testing.T) {
	t.Helper()
	for _, path := range installed {
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("after install: %v", err)
		}
	}
	// It may hold exporter credentials.
	if fi, err := os.Stat("/etc/default/teamsflow"); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("/etc/default/teamsflow has mode %v; want 0600", fi.Mode().Perm())
	}
	if _, err := user.Lookup("teamsflow"); err != nil {
		t.Errorf("after install: %v", err)
	}
	if _, err := user.LookupGroup("teamsflow"); err != nil {
		t.Errorf("after install: %v", err)
	}
	if out := run(t, "teamsflow", "version"); !strings.HasPrefix(out, "teamsflow ") || strings.Contains(out, " dev") {
		t.Errorf("teamsflow version: %q; want the version from the build's ldflags", out)
	}
	if out := run(t, "teamsflow", "capture", "--duration", "2s", "--log-level", "warn"); !strings.HasPrefix(out, "PROCESS") {
		t.Errorf("teamsflow capture printed no table:\n%s", out)
	}
	if out, err := exec.Command("systemd-analyze", "verify", "teamsflow.service").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify of the installed unit: %v\n%s", err, out)
	}
}

// checkGone checks that removing the package (how: "purge", "erase")
// left none of its files and directories.
func checkGone(t *testing.T, how string) {
	t.Helper()
	for _, path := range append(installed, "/etc/teamsflow", "/usr/share/doc/teamsflow") {
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("after %s %s is still there", how, path)
		}
	}
}

// testInstalledService runs the installed unit under systemd: under the
// machine's own when it runs (the package started it), otherwise under a
// systemd booted in namespaces. The agent must come up with the unit's
// hardening, serve the API to the teamsflow group, and stop cleanly.
func testInstalledService(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		run(t, "systemctl", "is-active", "--quiet", "teamsflow")
		checkService(t, func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) })
		return
	}
	s := bootSystemd(t)
	checkService(t, s.command)
}

func checkService(t *testing.T, command func(string, ...string) *exec.Cmd) {
	t.Helper()
	output := func(name string, args ...string) string {
		out, err := command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// The socket appears before the agent has attached; it answers after.
	deadline := time.Now().Add(15 * time.Second)
	for command("teamsflow", "streams").Run() != nil {
		if time.Now().After(deadline) {
			status, _ := command("systemctl", "status", "--no-pager", "teamsflow").CombinedOutput()
			log, _ := command("cat", agentLog).CombinedOutput()
			t.Fatalf("the agent does not answer `teamsflow streams`; service:\n%s\nlog:\n%s", status, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkSandbox(t, output("sh", "-c", "cat /proc/$(systemctl show -p MainPID --value teamsflow)/status"))
	if owner := output("stat", "-c", "%U:%G %a", "/run/teamsflow/api.sock"); owner != "teamsflow:teamsflow 660" {
		t.Errorf("API socket is %s; want teamsflow:teamsflow 660", owner)
	}
	group, err := user.LookupGroup("teamsflow")
	if err != nil {
		t.Fatal(err)
	}
	output("setpriv", "--reuid=65534", "--regid=65534", "--groups="+group.Gid, "teamsflow", "streams", "--all-apps", "--json")
	if out, err := command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "teamsflow", "streams").CombinedOutput(); err == nil {
		t.Errorf("a user outside the teamsflow group could ask the agent:\n%s", out)
	}
	output("systemctl", "stop", "teamsflow")
	if result := output("systemctl", "show", "-p", "Result", "--value", "teamsflow"); result != "success" {
		t.Errorf("service stopped with result %q", result)
	}
	output("systemctl", "start", "teamsflow")
}

// checkSandbox reads the agent's /proc/PID/status: it runs as teamsflow
// with exactly the unit's capabilities, no new privileges, and a seccomp
// filter.
func checkSandbox(t *testing.T, status string) {
	t.Helper()
	var mask uint64
	for _, name := range unitCaps(t) {
		bit, ok := capBits[name]
		if !ok {
			t.Fatalf("unknown capability %s in the unit", name)
		}
		mask |= 1 << bit
	}
	account, err := user.Lookup("teamsflow")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("CapEff:\t%016x", mask), fmt.Sprintf("CapBnd:\t%016x", mask), fmt.Sprintf("CapAmb:\t%016x", mask),
		"NoNewPrivs:\t1", "Seccomp:\t2", "Uid:\t" + account.Uid + "\t",
	}
	for _, line := range want {
		if !strings.Contains(status, line) {
			t.Errorf("agent's status lacks %q:\n%s", line, status)
		}
	}
}

// capBits are the capabilities the unit may name.
var capBits = map[string]uint{"CAP_BPF": unix.CAP_BPF, "CAP_PERFMON": unix.CAP_PERFMON, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN,
	"CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE, "CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN}
