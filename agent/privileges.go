package agent

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Capabilities the agent needs: loading programs (BPF), tracing programs
// and reading kernel memory for them (PERFMON), attaching to cgroups and
// interfaces (NET_ADMIN). Entering other network namespaces needs
// SYS_ADMIN. Reading /proc/PID/fd of other users' processes, how the
// owners of sockets opened before the agent are found, needs SYS_PTRACE
// and DAC_READ_SEARCH; without them the agent still works for everything
// opened while it runs, so their absence is a warning.
var (
	requiredCaps = map[string]uint{"CAP_BPF": unix.CAP_BPF, "CAP_PERFMON": unix.CAP_PERFMON, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN}
	netnsCaps    = map[string]uint{"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN}
	backfillCaps = map[string]uint{"CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE, "CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH}
)

// CheckPrivileges returns an error naming every missing capability the
// agent cannot run without, or else a one-line warning (or "") about the
// capabilities whose absence leaves older sockets without an owner.
func CheckPrivileges(cfg Config) (warning string, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "", fmt.Errorf("reading capabilities: %w", err)
	}
	missing := func(caps map[string]uint) []string {
		var out []string
		for name, c := range caps {
			if data[c/32].Effective&(1<<(c%32)) == 0 {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	required := missing(requiredCaps)
	if slices.ContainsFunc(cfg.Netns, func(p string) bool { return p != "" }) {
		required = append(required, missing(netnsCaps)...)
		slices.Sort(required)
	}
	if len(required) > 0 {
		return "", fmt.Errorf("missing privileges: %s (%s)", strings.Join(required, ", "), privilegesHint(os.Geteuid()))
	}
	if opt := missing(backfillCaps); len(opt) > 0 {
		return fmt.Sprintf("missing %s: sockets that other users' processes opened before the agent started will have no owner",
			strings.Join(opt, " and ")), nil
	}
	return "", nil
}

// privilegesHint says how to get the capabilities: root has them unless a
// container runtime or a service unit took them away, and then running as
// root again does not help.
func privilegesHint(euid int) string {
	if euid == 0 {
		return "running as root, but the container or service unit dropped them: add them to its capabilities"
	}
	return "run as root, e.g. with sudo"
}
