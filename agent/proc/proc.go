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
	"slices"
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
	// StartNs is the exact start time (ns since boot) when the kernel told
	// it: exec events and socket owners. 0 for a process only read from
	// /proc. A pid reused within one tick (a busy machine, pid namespaces)
	// gives two processes one StartTicks; only StartNs tells them apart.
	StartNs uint64
}

// TicksFromBootNs converts a kernel start_boottime to StartTicks.
func TicksFromBootNs(ns uint64) uint64 { return ns / 10_000_000 }

// KeyFromBootNs is the key of a process the kernel described by its
// start_boottime; ns 0 (start unknown) matches the pid's current process.
func KeyFromBootNs(pid uint32, ns uint64) Key {
	return Key{PID: pid, StartTicks: TicksFromBootNs(ns), StartNs: ns}
}

// coarse is the key as /proc can know it: to the tick.
func (k Key) coarse() Key { return Key{PID: k.PID, StartTicks: k.StartTicks} }

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
	// exact lists the StartNs of the entries that have one, per coarse
	// key: when there is one, a tick-precise answer from /proc may be
	// another process; when there are two, a tick-precise key is ambiguous.
	exact map[Key][]uint64
	// keep is how long an exited process stays known.
	keep time.Duration
}

// NewCache makes an empty cache. Exited processes are forgotten keep after
// their exit.
func NewCache(keep time.Duration) *Cache {
	return &Cache{procs: map[Key]*Info{}, exact: map[Key][]uint64{}, keep: keep}
}

// Exec records a process from the kernel's exec event.
func (c *Cache) Exec(info Info) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.procs[info.Key]; !ok && info.StartNs != 0 {
		c.exact[info.coarse()] = append(c.exact[info.coarse()], info.StartNs)
	}
	c.procs[info.Key] = &info
}

// Exit marks a process as gone at t, also when it is known from /proc
// only.
func (c *Cache) Exit(k Key, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, key := range []Key{k, k.coarse()} {
		if p, ok := c.procs[key]; ok {
			p.Exited = t
		}
	}
}

// Lookup returns the process k. Unknown processes are read from /proc;
// when /proc has the pid with another start time, it is a different
// process and nothing is returned. Two processes may share a pid and a
// tick: then a key that cannot tell which one it means gets nothing, as no
// answer beats a wrong one.
func (c *Cache) Lookup(k Key) (Info, bool) {
	p, known, ambiguous := c.cached(k)
	if known {
		return p, true
	}
	if ambiguous {
		return Info{}, false
	}
	info, ok := c.read(k.PID)
	if !ok || (k.StartTicks != 0 && info.StartTicks != k.StartTicks) {
		return Info{}, false
	}
	c.mu.Lock()
	c.procs[info.Key] = &info
	c.mu.Unlock()
	return info, true
}

// cached finds k in the cache: exactly, or by its tick when that names
// one process only.
func (c *Cache) cached(k Key) (info Info, known, ambiguous bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.procs[k]; ok {
		return *p, true, false
	}
	exact := c.exact[k.coarse()]
	if k.StartNs != 0 {
		if len(exact) > 0 {
			// Another process of this pid and tick is known exactly: a
			// tick-precise entry, or /proc, may be it.
			return Info{}, false, true
		}
		p, ok := c.procs[k.coarse()]
		if ok {
			return *p, true, false
		}
		return Info{}, false, false
	}
	switch {
	case k.StartTicks == 0:
		return Info{}, false, false
	case len(exact) == 1:
		return *c.procs[Key{PID: k.PID, StartTicks: k.StartTicks, StartNs: exact[0]}], true, false
	}
	return Info{}, false, len(exact) > 1
}

// LookupPID reads a running process by pid alone (backfill from /proc).
func (c *Cache) LookupPID(pid uint32) (Info, bool) {
	info, ok := c.read(pid)
	if !ok {
		return Info{}, false
	}
	return c.Lookup(info.Key)
}

// LookupParent returns the running process ppid as the parent of child:
// only if it started no later than the child, since a younger process
// with that pid took it after the parent died. It reads one line of /proc
// to learn which process holds the pid now; the rest usually comes from
// the cache.
func (c *Cache) LookupParent(ppid uint32, child Key) (Info, bool) {
	ticks, err := startTicks(ppid)
	if err != nil || (child.StartTicks != 0 && ticks > child.StartTicks) {
		return Info{}, false
	}
	return c.Lookup(Key{PID: ppid, StartTicks: ticks})
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
			if k.StartNs != 0 {
				c.forgetExact(k)
			}
		}
	}
}

func (c *Cache) forgetExact(k Key) {
	rest := slices.DeleteFunc(c.exact[k.coarse()], func(ns uint64) bool { return ns == k.StartNs })
	if len(rest) == 0 {
		delete(c.exact, k.coarse())
	} else {
		c.exact[k.coarse()] = rest
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
