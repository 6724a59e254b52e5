// Package proc names processes: pid -> executable, command line, parent.
// Entries are keyed by pid and start time so that a reused pid never
// inherits the name of the process that had it before. Sources, best first:
// the kernel's exec events (they outlive the process), then /proc through
// gopsutil for processes that were running before the agent started.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// Key names one process for its whole life.
type Key struct {
	PID uint32
	// StartTicks is the start time in clock ticks since boot (USER_HZ=100),
	// as in /proc/PID/stat field 22.
	StartTicks uint64
}

// TicksFromBootNs converts a kernel start_boottime to StartTicks.
func TicksFromBootNs(ns uint64) uint64 { return ns / 10_000_000 }

// Info is what is known about a process.
type Info struct {
	Key
	PPID    uint32
	UID     uint32
	Comm    string
	Exe     string
	Cmdline []string
	Exited  time.Time // zero while running
}

// Cache holds process information. It is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	procs map[Key]*Info
	// keep is how long an exited process stays known.
	keep time.Duration
}

// NewCache makes an empty cache. Exited processes are forgotten keep after
// their exit.
func NewCache(keep time.Duration) *Cache {
	return &Cache{procs: map[Key]*Info{}, keep: keep}
}

// Exec records a process from the kernel's exec event.
func (c *Cache) Exec(info Info) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs[info.Key] = &info
}

// Exit marks a process as gone at t.
func (c *Cache) Exit(k Key, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.procs[k]; ok {
		p.Exited = t
	}
}

// Lookup returns the process k. Unknown processes are read from /proc;
// when /proc has the pid with another start time, it is a different
// process and nothing is returned.
func (c *Cache) Lookup(k Key) (Info, bool) {
	c.mu.Lock()
	if p, ok := c.procs[k]; ok {
		c.mu.Unlock()
		return *p, true
	}
	c.mu.Unlock()
	info, ok := c.read(k.PID)
	if !ok || (k.StartTicks != 0 && info.StartTicks != k.StartTicks) {
		return Info{}, false
	}
	c.mu.Lock()
	c.procs[info.Key] = &info
	c.mu.Unlock()
	return info, true
}

// LookupPID reads a running process by pid alone (backfill from /proc).
func (c *Cache) LookupPID(pid uint32) (Info, bool) {
	info, ok := c.read(pid)
	if !ok {
		return Info{}, false
	}
	return c.Lookup(info.Key)
}

func (c *Cache) read(pid uint32) (Info, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p, err := process.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return Info{}, false
	}
	ticks, err := startTicks(pid)
	if err != nil {
		return Info{}, false
	}
	info := Info{Key: Key{PID: pid, StartTicks: ticks}}
	if ppid, err := p.PpidWithContext(ctx); err == nil {
		info.PPID = uint32(ppid)
	}
	if uids, err := p.UidsWithContext(ctx); err == nil && len(uids) > 1 {
		info.UID = uids[1] // effective
	}
	info.Comm, _ = p.NameWithContext(ctx)
	info.Exe, _ = p.ExeWithContext(ctx)
	info.Cmdline, _ = p.CmdlineSliceWithContext(ctx)
	return info, true
}

// startTicks reads field 22 of /proc/PID/stat exactly; gopsutil's
// CreateTime goes through floating point and milliseconds.
func startTicks(pid uint32) (uint64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The comm field may hold spaces and parentheses: skip past the last ')'.
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, fmt.Errorf("reading /proc/%d/stat: no comm field", pid)
	}
	fields := strings.Fields(string(raw[end+1:]))
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(fields))
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Prune forgets processes that exited more than keep ago.
func (c *Cache) Prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, p := range c.procs {
		if !p.Exited.IsZero() && now.Sub(p.Exited) > c.keep {
			delete(c.procs, k)
		}
	}
}

// Len is the number of processes known.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.procs)
}

// SplitArgs turns the kernel's NUL-separated argv bytes into arguments.
func SplitArgs(raw []byte) []string {
	s := strings.TrimRight(string(raw), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
