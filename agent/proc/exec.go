package proc

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// commLen is the kernel's TASK_COMM_LEN less its NUL: a comm is at most 15
// bytes.
const commLen = 15

// ExecEvent is a process as the kernel's exec event describes it: the
// file name as the caller of execve passed it and the comm the kernel made
// of that name.
type ExecEvent struct {
	Key
	PPID     uint32
	UID      uint32
	Comm     string
	Filename string
	Cmdline  []string
}

// Exec records a process from the kernel's exec event, with its real
// executable. Chromium and Electron start their children through
// /proc/self/exe: the event's file name is then that link, and the
// kernel's comm "exe" its last element. The process is named by the
// binary the link led to instead, as `ps` users know it (chromium).
func (c *Cache) ExecEvent(e ExecEvent) {
	exe := c.realExe(e.Key, e.PPID, e.Filename)
	comm := e.Comm
	if exe != e.Filename && comm == baseComm(e.Filename) {
		comm = baseComm(exe)
	}
	c.Exec(Info{Key: e.Key, PPID: e.PPID, UID: e.UID, Comm: comm, Exe: exe, Cmdline: e.Cmdline})
}

// realExe resolves an exec's file name when it does not name the binary:
// a /proc link (/proc/self/exe, /proc/PID/exe, /dev/fd/N through
// fexecve) or a relative path. It reads /proc/PID/exe while the process
// still runs; after it is gone, a /proc/self/exe is the image the process
// had before the exec: its own earlier one when it exec'd in place, else
// its parent's (the usual fork then exec). Unresolved, the name stays.
func (c *Cache) realExe(k Key, ppid uint32, filename string) string {
	if path.IsAbs(filename) && !strings.HasPrefix(filename, "/proc/") && !strings.HasPrefix(filename, "/dev/fd/") {
		return filename
	}
	if exe, ok := liveExe(k); ok {
		return exe
	}
	if filename != "/proc/self/exe" && filename != "/proc/thread-self/exe" {
		return filename
	}
	if before, ok := c.cachedExe(k); ok {
		return before
	}
	if parent, ok := c.LookupParent(ppid, k); ok && parent.Exe != "" {
		return parent.Exe
	}
	if exe, ok := c.exitedParentExe(ppid, k); ok {
		return exe
	}
	return filename
}

// exitedParentExe is the executable of the latest known process ppid that
// started no later than child: its parent, when that is gone too. A scan,
// but only for the rare child whose event came after both had exited.
func (c *Cache) exitedParentExe(ppid uint32, child Key) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Info
	for k, p := range c.procs {
		if k.PID != ppid || p.Exe == "" || k.StartTicks > child.StartTicks {
			continue
		}
		if best == nil || k.StartTicks > best.StartTicks || (k.StartTicks == best.StartTicks && k.StartNs > best.StartNs) {
			best = p
		}
	}
	if best == nil {
		return "", false
	}
	return best.Exe, true
}

// liveExe reads the binary of process k, if it still runs.
func liveExe(k Key) (string, bool) {
	ticks, err := startTicks(k.PID)
	if err != nil || ticks != k.StartTicks {
		return "", false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", k.PID))
	// A binary replaced on disk reads "PATH (deleted)": it is still PATH.
	return strings.TrimSuffix(exe, " (deleted)"), err == nil
}

// cachedExe is the executable the cache knows for k from before.
func (c *Cache) cachedExe(k Key) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.procs[k]; ok && p.Exe != "" {
		return p.Exe, true
	}
	return "", false
}

// baseComm is the comm the kernel makes of an exec'd file name.
func baseComm(filename string) string {
	b := path.Base(filename)
	if len(b) > commLen {
		b = b[:commLen]
	}
	return b
}
