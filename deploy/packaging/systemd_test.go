package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stubTargets are the units that teamsflow.service and systemd itself
// refer to; empty stand-ins keep the rest of the machine from starting.
var stubTargets = []string{"sysinit", "basic", "shutdown", "sockets", "paths", "timers", "slices",
	"network", "multi-user", "local-fs", "default"}

// agentLog is where the agent logs under the namespaced systemd (in its
// private /run).
const agentLog = "/run/teamsflow-agent.log"

// systemdNS is a systemd running as PID 1 of its own namespaces.
type systemdNS struct {
	pid    int // systemd's pid on the host
	cgroup string
}

// bootSystemd starts systemd in namespaces with the installed
// teamsflow.service and its enablement link, and waits until it runs.
func bootSystemd(t *testing.T) *systemdNS {
	t.Helper()
	units := t.TempDir()
	if err := os.Chmod(units, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range stubTargets {
		writeFile(t, filepath.Join(units, name+".target"), "[Unit]\nDescription=stub "+name+"\n")
	}
	writeFile(t, filepath.Join(units, "system.slice"), "[Unit]\nDescription=stub\n")
	run(t, "cp", "/usr/lib/systemd/system/teamsflow.service", units)
	// No journald here: the agent's log goes to a file the test can show.
	run(t, "mkdir", filepath.Join(units, "teamsflow.service.d"))
	writeFile(t, filepath.Join(units, "teamsflow.service.d", "log.conf"),
		"[Service]\nStandardOutput=append:"+agentLog+"\nStandardError=append:"+agentLog+"\n")
	run(t, "mkdir", filepath.Join(units, "wants"))
	run(t, "cp", "-P", wantsLink, filepath.Join(units, "wants"))

	s := &systemdNS{cgroup: fmt.Sprintf("teamsflow-test-%d", os.Getpid())}
	boot := exec.Command("sh", "testdata/boot-systemd.sh", units, s.cgroup)
	var console strings.Builder
	boot.Stdout, boot.Stderr = &console, &console
	if err := boot.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.shutdown(boot) })
	// unshare forks systemd as its only child.
	deadline := time.Now().Add(10 * time.Second)
	for s.pid == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", boot.Process.Pid, boot.Process.Pid))
		s.pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
	}
	for time.Now().Before(deadline) {
		out, _ := s.command("systemctl", "is-system-running").Output()
		if state := strings.TrimSpace(string(out)); state == "running" || state == "degraded" {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("systemd did not come up in its namespace (pid %d):\n%s", s.pid, console.String())
	return nil
}

// command runs a program inside systemd's namespaces.
func (s *systemdNS) command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(s.pid), "-m", "-p", name}, args...)...)
}

// shutdown kills systemd (and with it its pid namespace) and removes the
// cgroups it made.
func (s *systemdNS) shutdown(boot *exec.Cmd) {
	if s.pid != 0 {
		if p, err := os.FindProcess(s.pid); err == nil {
			_ = p.Kill()
		}
	}
	_ = boot.Process.Kill()
	_ = boot.Wait()
	for _, h := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, s.cgroup), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		// Children first.
		sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
		for _, d := range dirs {
			// A cgroup is busy until its last process is reaped.
			for i := 0; i < 20 && os.Remove(d) != nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
