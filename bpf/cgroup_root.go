package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// initCgroupNS is what /proc/PID/ns/cgroup reads in the host's (initial)
// cgroup namespace: the kernel gives it the fixed inode PROC_CGROUP_INIT_INO.
const initCgroupNS = "cgroup:[4026531835]"

// CgroupRoot is the root of the host's cgroup v2 hierarchy, where the
// socket hooks see every process of the host. Path opens it; Why says how
// it was found, for the log.
type CgroupRoot struct {
	Path string
	Why  string
	// Partial: only a cgroup namespace's root could be had, so the hooks
	// see only its processes.
	Partial bool
	dir     *os.File // the private mount's root, held open (nil for a visible mount)
}

// Close lets go of a private mount. The hooks attached through it stay:
// a cgroup attachment holds the cgroup, not the mount.
func (r *CgroupRoot) Close() error {
	if r == nil || r.dir == nil {
		return nil
	}
	return r.dir.Close()
}

// OpenCgroupRoot finds the host's cgroup v2 root, in this order:
//
//  1. a visible cgroup2 mount of the hierarchy's root (the host's own, or
//     the node's /sys/fs/cgroup mounted into a container);
//  2. the same in PID 1's mounts through /proc/1/root (a container with
//     the host's PID namespace);
//  3. cgroup2 mounted in a private mount namespace, from the host's cgroup
//     namespace when the agent is in another one (cgroup2 shows the root of
//     the mounting thread's cgroup namespace). Needs CAP_SYS_ADMIN.
//
// No visible hierarchy is what `ip netns exec` leaves (it remounts /sys); a
// visible one whose root is not the hierarchy's is a container's with a
// cgroup namespace of its own, where hooks would see only the container.
func OpenCgroupRoot() (*CgroupRoot, error) {
	self, err := os.Readlink("/proc/self/ns/cgroup")
	if err != nil {
		self = initCgroupNS // a kernel without cgroup namespaces (before 4.6)
	}
	mounts, err := cgroup2Mounts("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		if isHierarchyRoot(m.point) {
			return &CgroupRoot{Path: m.point, Why: "cgroup2 mounted at " + m.point + " is the hierarchy's root"}, nil
		}
	}
	why := "no cgroup v2 hierarchy is mounted here"
	if len(mounts) > 0 {
		why = fmt.Sprintf("the cgroup2 mount at %s shows a cgroup below the root", mounts[0].point)
	}
	if self != initCgroupNS {
		why += fmt.Sprintf(" (the agent is in a cgroup namespace of its own, %s)", self)
	}
	if r := pid1CgroupRoot(); r != nil {
		r.Why = why + "; " + r.Why
		return r, nil
	}
	r, err := privateCgroupRoot(self)
	if err == nil {
		r.Why = why + "; " + r.Why
		return r, nil
	}
	if len(mounts) == 0 {
		return nil, fmt.Errorf("%s, and mounting cgroup2 privately failed: %w", why, err)
	}
	// A hardened service without CAP_SYS_ADMIN in a cgroup namespace of
	// its own still sees the processes of that namespace: better than
	// nothing, and said in the log.
	return &CgroupRoot{Path: mounts[0].point, Partial: true,
		Why: fmt.Sprintf("%s, and mounting cgroup2 privately failed (%v): the socket hooks see only the processes of this cgroup namespace; give the agent CAP_SYS_ADMIN or the host's cgroup2 mount to see the whole host", why, err)}, nil
}

// privateCgroupRoot mounts cgroup2 privately, from the host's cgroup
// namespace when the agent is in another one.
func privateCgroupRoot(self string) (*CgroupRoot, error) {
	var hostNS *os.File
	if self != initCgroupNS {
		var err error
		if hostNS, err = openHostCgroupNS(); err != nil {
			return nil, err
		}
		defer hostNS.Close()
	}
	dir, err := mountPrivateCgroup2(hostNS)
	if err != nil {
		return nil, err
	}
	return &CgroupRoot{Path: fmt.Sprintf("/proc/self/fd/%d", dir.Fd()),
		Why: "mounted cgroup2 privately at the host's root", dir: dir}, nil
}

// isHierarchyRoot tells the root of a cgroup v2 hierarchy from any other
// cgroup, a cgroup namespace's root included: only the root has no
// cgroup.events (4.5+) and no cgroup.type (4.14+).
func isHierarchyRoot(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return false
	}
	for _, name := range []string{"cgroup.events", "cgroup.type"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// pid1CgroupRoot looks for the hierarchy's root among PID 1's mounts,
// through its root directory; nil when PID 1 cannot be read or has none.
func pid1CgroupRoot() *CgroupRoot {
	mounts, err := cgroup2Mounts("/proc/1/mountinfo")
	if err != nil {
		return nil
	}
	for _, m := range mounts {
		p := filepath.Join("/proc/1/root", m.point)
		if isHierarchyRoot(p) {
			return &CgroupRoot{Path: p, Why: "found the hierarchy's root in PID 1's mounts"}
		}
	}
	return nil
}

// CgroupV2Root is OpenCgroupRoot for callers that want only a path, valid
// for the life of the process (tests and tools).
func CgroupV2Root() (string, error) {
	r, err := OpenCgroupRoot()
	if err != nil {
		return "", err
	}
	return r.Path, nil
}

type cgroup2Mount struct{ root, point string }

// cgroup2Mounts lists the cgroup2 mounts of a mountinfo file: the root
// field says which cgroup the mount shows, relative to the reader's cgroup
// namespace ("/" is the whole hierarchy).
func cgroup2Mounts(path string) ([]cgroup2Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("finding cgroup v2 mounts: %w", err)
	}
	defer f.Close()
	var out []cgroup2Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source ...
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				out = append(out, cgroup2Mount{root: unescapeMount(fields[3]), point: unescapeMount(fields[4])})
			}
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// openHostCgroupNS opens the host's cgroup namespace through PID 1, or
// through the first process found in it when PID 1 cannot be read (it may
// run in a namespace of its own, or refuse to be inspected).
func openHostCgroupNS() (*os.File, error) {
	if f, ok := openIfHostCgroupNS("1"); ok {
		return f, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("looking for a process in the host's cgroup namespace: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == "1" {
			continue
		}
		if f, ok := openIfHostCgroupNS(e.Name()); ok {
			return f, nil
		}
	}
	return nil, errors.New("no process of the host's cgroup namespace is visible in /proc (in a container, run with the host's PID namespace)")
}

func openIfHostCgroupNS(pid string) (*os.File, bool) {
	p := filepath.Join("/proc", pid, "ns", "cgroup")
	if link, err := os.Readlink(p); err != nil || link != initCgroupNS {
		return nil, false
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	// The process may have moved on between the two looks.
	if link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd())); err != nil || link != initCgroupNS {
		f.Close()
		return nil, false
	}
	return f, true
}

// mountPrivateCgroup2 mounts cgroup2 in a mount namespace of its own, from
// the host's cgroup namespace when hostNS is set (cgroup2 shows the root of
// the mounting thread's cgroup namespace), and returns the mount's root
// directory. It works on a locked thread that is thrown away afterwards, so
// neither namespace change reaches the rest of the agent, and nothing is
// left mounted: the open directory keeps the mount alive.
func mountPrivateCgroup2(hostNS *os.File) (*os.File, error) {
	type result struct {
		dir *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		// No UnlockOSThread: the thread ends with the goroutine.
		runtime.LockOSThread()
		dir, err := mountOnThisThread(hostNS)
		done <- result{dir, err}
	}()
	r := <-done
	return r.dir, r.err
}

func mountOnThisThread(hostNS *os.File) (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("making a mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	if hostNS != nil {
		if err := unix.Setns(int(hostNS.Fd()), unix.CLONE_NEWCGROUP); err != nil {
			return nil, fmt.Errorf("entering the host's cgroup namespace: %w", err)
		}
	}
	point, done, err := mountPoint()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := unix.Mount("cgroup2", point, "cgroup2", 0, ""); err != nil {
		return nil, fmt.Errorf("mounting cgroup2 on %s: %w", point, err)
	}
	dir, err := os.Open(point)
	// Detach at once: the open directory holds the mount, and the empty
	// mount point can be removed.
	if uerr := unix.Unmount(point, unix.MNT_DETACH); uerr != nil && err == nil {
		dir.Close()
		return nil, fmt.Errorf("detaching the cgroup2 mount: %w", uerr)
	}
	return dir, err
}

// mountPoint gives the private mount a directory: an empty one of its own,
// which done removes, or, where nothing can be created (a container's
// read-only root), an existing one, which the mount covers only for the
// thrown-away thread.
func mountPoint() (dir string, done func(), err error) {
	if dir, err := os.MkdirTemp("", "teamsflow-cgroup2-"); err == nil {
		return dir, func() { _ = os.Remove(dir) }, nil
	}
	for _, dir := range []string{"/sys/fs/cgroup", "/sys", "/tmp"} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir, func() {}, nil
		}
	}
	return "", nil, errors.New("no directory to mount cgroup2 on")
}
