package agent

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Capabilities the agent needs: loading programs (BPF), tracing programs
// and reading kernel memory for them (PERFMON), attaching to cgroups and
// interfaces (NET_ADMIN). Entering other network namespaces needs
// SYS_ADMIN.
var (
	requiredCaps = map[string]uint{"CAP_BPF": unix.CAP_BPF, "CAP_PERFMON": unix.CAP_PERFMON, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN}
	netnsCaps    = map[string]uint{"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN}
)

// CheckPrivileges returns an error naming every missing capability.
func CheckPrivileges(cfg Config) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	var missing []string
	check := func(caps map[string]uint) {
		for name, c := range caps {
			if !has(c) {
				missing = append(missing, name)
			}
		}
	}
	check(requiredCaps)
	if slices.ContainsFunc(cfg.Netns, func(p string) bool { return p != "" }) {
		check(netnsCaps)
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("missing privileges: %s (run as root, e.g. with sudo)", strings.Join(missing, ", "))
}
