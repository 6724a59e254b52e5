package proc

import (
	"os"
	"testing"
	"time"
)

// goneKey is a process that is not running: its pid is past any pid_max.
func goneKey(pid uint32, ns uint64) Key { return KeyFromBootNs(pid, ns) }

// An exec through /proc/self/exe is named by the binary the link led to,
// also when the process is gone before its event is read: the image it had
// before the exec, its own (exec in place) or else its parent's.
func TestExecThroughProcSelfExe(t *testing.T) {
	c := NewCache(time.Minute)
	parent := goneKey(1<<30, 5_000_000_000)
	c.Exec(Info{Key: parent, Comm: "chromium", Exe: "/usr/lib/chromium/chromium"})
	child := goneKey(1<<30+1, 6_000_000_000)
	c.ExecEvent(ExecEvent{Key: child, PPID: parent.PID, Comm: "exe", Filename: "/proc/self/exe"})
	info, ok := c.Lookup(child)
	if !ok || info.Comm != "chromium" || info.Exe != "/usr/lib/chromium/chromium" {
		t.Errorf("child through /proc/self/exe: %v %q %q, want chromium and the parent's binary", ok, info.Comm, info.Exe)
	}
	// Exec in place: the process's own earlier image, not the parent's.
	self := goneKey(1<<30+2, 7_000_000_000)
	c.Exec(Info{Key: self, PPID: parent.PID, Comm: "electron-app", Exe: "/opt/app/electron-app"})
	c.ExecEvent(ExecEvent{Key: self, PPID: parent.PID, Comm: "exe", Filename: "/proc/self/exe"})
	if info, _ := c.Lookup(self); info.Exe != "/opt/app/electron-app" || info.Comm != "electron-app" {
		t.Errorf("exec in place: %q %q, want its own earlier binary", info.Comm, info.Exe)
	}
	// A process that renamed itself keeps its name; a plain path stays.
	renamed := goneKey(1<<30+3, 8_000_000_000)
	c.ExecEvent(ExecEvent{Key: renamed, PPID: parent.PID, Comm: "Renderer", Filename: "/proc/self/exe"})
	plain := goneKey(1<<30+4, 9_000_000_000)
	c.ExecEvent(ExecEvent{Key: plain, PPID: parent.PID, Comm: "ms-teams", Filename: "/usr/bin/ms-teams"})
	if a, b := mustLookup(t, c, renamed), mustLookup(t, c, plain); a.Comm != "Renderer" || b.Exe != "/usr/bin/ms-teams" || b.Comm != "ms-teams" {
		t.Errorf("renamed %q %q, plain %q %q", a.Comm, a.Exe, b.Comm, b.Exe)
	}
}

// A running process's /proc/self/exe is read from /proc/PID/exe.
func TestExecThroughProcSelfExeRunning(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ticks, err := startTicks(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(time.Minute)
	k := Key{PID: uint32(os.Getpid()), StartTicks: ticks}
	c.ExecEvent(ExecEvent{Key: k, Comm: "exe", Filename: "/proc/self/exe"})
	if info := mustLookup(t, c, k); info.Exe != self || info.Comm != baseComm(self) {
		t.Errorf("running: %q %q, want %q", info.Comm, info.Exe, self)
	}
}

func mustLookup(t *testing.T, c *Cache, k Key) Info {
	t.Helper()
	info, ok := c.Lookup(k)
	if !ok {
		t.Fatalf("%+v unknown", k)
	}
	return info
}
