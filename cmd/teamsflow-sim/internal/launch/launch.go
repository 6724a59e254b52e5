package launch

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// Environment passed to the client processes. The role is read before any
// flag parsing, since their argv is the real client's, not ours.
const (
	EnvRole     = "TFSIM_ROLE" // "parent" or "net"
	EnvClient   = "TFSIM_CLIENT"
	EnvPlan     = "TFSIM_PLAN"
	EnvResult   = "TFSIM_RESULT"
	EnvLogLevel = "TFSIM_LOG_LEVEL"
)

// Install puts the running simulator binary at the client's path under
// root. A hard link (or a copy across file systems) rather than a
// symlink: the kernel resolves symlinks for /proc/PID/exe, which would
// then still say teamsflow-sim.
func Install(root, client string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding own executable: %w", err)
	}
	dst := filepath.Join(root, exePath[client])
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("making %s: %w", filepath.Dir(dst), err)
	}
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.Link(self, dst); err == nil {
		return dst, nil
	}
	if err := copyFile(self, dst); err != nil {
		return "", fmt.Errorf("installing %s: %w", client, err)
	}
	return dst, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Spec says which client to start and where its plan and result live.
type Spec struct {
	NS         netns.Named
	Client     string
	WebApp     string
	Exe        string
	PlanPath   string
	ResultPath string
	LogLevel   string
}

// Start runs the client's top process inside the namespace. `ip netns
// exec` execs it in place, so the pid is the one started here. The client
// gets its own process group so that it can be stopped as a whole.
func Start(s Spec) (*exec.Cmd, error) {
	argv := ParentArgv(s.Client, s.Exe, s.WebApp)
	role := "net"
	if ChildArgv(s.Client, s.Exe) != nil {
		role = "parent"
	}
	cmd := s.NS.Command(s.Exe, argv[1:]...)
	cmd.Env = append(os.Environ(),
		EnvRole+"="+role, EnvClient+"="+s.Client, EnvPlan+"="+s.PlanPath,
		EnvResult+"="+s.ResultPath, EnvLogLevel+"="+s.LogLevel)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.Client, err)
	}
	return cmd, nil
}
