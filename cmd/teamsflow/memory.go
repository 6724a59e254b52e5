//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// teamsflow takes no heap profiles, so it records none: each sample walks
// the allocating stack through the executable's tables, pages that would
// otherwise stay out of memory, and with 10k flows the daemon allocates
// megabytes a second. (The bucket table of the samples taken while the
// packages teamsflow uses were initialized stays.)
func init() { runtime.MemProfileRate = 0 }

// releaseBinaryPages hands back the pages of teamsflow's own executable
// that starting touched: loading reads the embedded kernel programs and
// runs code (BTF parsing, attaching) that never runs again, ~16 MB of
// resident pages of which the running daemon uses a few. The pages are
// clean copies of the file: what is used again is read back on first use,
// one page at a time (MADV_RANDOM): with the default read-ahead each page
// the daemon used again brought its neighbours back too, and the runtime's
// tables (pclntab, read a function at a time) came back at ~7 of their
// 11 MB instead of ~3. Its initialised data (.data and .noptrdata, ~1.2
// MB, mapped writable) is released too: start-up read it nearly whole,
// and with 10k flows ~0.2 MB of it is resident again instead of ~1 MB.
// Of that mapping the pages the program wrote are its own (anonymous,
// ~140 KB): without swap they stay, with swap they go there once and
// come back when used. Kernels before 5.4 do not know MADV_PAGEOUT:
// nothing is released there.
func releaseBinaryPages() error {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	ranges, err := fileMappings("/proc/self/maps", exe)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range ranges {
		for _, advice := range []int{unix.MADV_RANDOM, unix.MADV_PAGEOUT} {
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], uintptr(advice)); e != 0 {
				errs = append(errs, fmt.Errorf("releasing %x-%x (advice %d): %w", r[0], r[1], advice, e))
			}
		}
	}
	return errors.Join(errs...)
}

// fileMappings lists the address ranges where a /proc/PID/maps file
// shows path mapped: code, read-only and initialised data; never the
// anonymous mappings (heap, .bss) nor other files.
func fileMappings(maps, path string) ([][2]uintptr, error) {
	f, err := os.Open(maps)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("%s: bad range %q", maps, fields[0])
		}
		out = append(out, [2]uintptr{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

// memoryLimit is the daemon's soft memory limit (memory_limit_mb): with
// many flows the heap is collected before it grows to twice what is live
// (GOGC's default). The runtime collects back to back, up to half the CPU,
// when the live heap comes close to its limit; with many more flows than
// the limit was sized for, the limit follows the live heap instead (never
// tighter than GOGC=50 would be), so the collector keeps its pace.
type memoryLimit struct {
	configured int64 // bytes; 0: the runtime's own setting
	current    int64
	live       []metrics.Sample
}

// limitSlackBytes is what the limit leaves above half again the live heap
// when it follows it: the runtime's own memory (GC metadata, stacks).
const limitSlackBytes = 4_000_000

// setMemoryLimit makes limitMB (10^6 bytes) the runtime's soft memory
// limit. 0 leaves the runtime's own setting, and so does GOMEMLIMIT in the
// environment: whoever set it meant it.
func setMemoryLimit(limitMB uint32, getenv func(string) string) *memoryLimit {
	m := &memoryLimit{live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	if limitMB == 0 || getenv("GOMEMLIMIT") != "" {
		m.current = debug.SetMemoryLimit(-1)
		return m
	}
	m.configured = int64(limitMB) * 1_000_000
	m.current = m.configured
	debug.SetMemoryLimit(m.current)
	return m
}

// follow moves the limit after the live heap, as of the last collection,
// when it needs more room than the configured limit leaves; it returns the
// limit in force and whether it moved.
func (m *memoryLimit) follow() (int64, bool) {
	if m.configured == 0 {
		return m.current, false
	}
	metrics.Read(m.live)
	if m.live[0].Value.Kind() != metrics.KindUint64 {
		return m.current, false
	}
	live := int64(m.live[0].Value.Uint64())
	want := max(m.configured, live+live/2+limitSlackBytes)
	// Small moves are not worth a call into the runtime, except back to
	// the configured limit.
	if d := want - m.current; d == 0 || (want != m.configured && max(d, -d) < m.current/10) {
		return m.current, false
	}
	m.current = want
	debug.SetMemoryLimit(want)
	return want, true
}
