//go:build linux

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// Only the mappings of the executable's file are released: never
// anonymous memory (heap, .bss), nor other files.
func TestFileMappings(t *testing.T) {
	maps := filepath.Join(t.TempDir(), "maps")
	content := `00400000-00d88000 r-xp 00000000 fe:00 1 /usr/bin/teamsflow
00d88000-0184e000 r--p 00988000 fe:00 1 /usr/bin/teamsflow
0184e000-0192b000 rw-p 0144e000 fe:00 1 /usr/bin/teamsflow
0192b000-03ea3000 rw-p 00000000 00:00 0
7f0000000000-7f0000100000 r-xp 00000000 fe:00 2 /usr/lib/libc.so.6
7f0000200000-7f0000300000 r--p 00000000 fe:00 3 /usr/bin/teamsflow (deleted)
`
	if err := os.WriteFile(maps, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := fileMappings(maps, "/usr/bin/teamsflow")
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uintptr{{0x400000, 0xd88000}, {0xd88000, 0x184e000}, {0x184e000, 0x192b000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %x, want %x", got, want)
	}
}

// Releasing the executable's pages shrinks the resident file pages of a
// running process, which keeps working, and its mappings (code, read-only
// and initialised data) read back only the pages used (VmFlags "rr":
// random reads, no read-ahead).
func TestReleaseBinaryPages(t *testing.T) {
	before := rssFileKB(t)
	if err := releaseBinaryPages(); err != nil {
		t.Skipf("this kernel cannot release pages: %v", err)
	}
	after := rssFileKB(t)
	if after >= before {
		t.Errorf("resident file pages %d kB before, %d kB after", before, after)
	}
	t.Logf("resident file pages %d kB -> %d kB", before, after)
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	mapped, advised := 0, 0
	var inExe bool
	for _, line := range strings.Split(string(smaps), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 6 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			inExe = strings.Join(fields[5:], " ") == exe
			if inExe {
				mapped++
			}
		}
		if inExe && strings.HasPrefix(line, "VmFlags:") && strings.Contains(line, " rr") {
			advised++
		}
	}
	if mapped < 2 || advised != mapped {
		t.Errorf("%d of the executable's %d mappings read pages one at a time", advised, mapped)
	}
}

func rssFileKB(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// memory_limit_mb becomes the runtime's soft limit, unless it is 0 or
// GOMEMLIMIT was set (the runtime read that one itself).
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noEnv := func(string) string { return "" }
	if got := setMemoryLimit(24, noEnv); got.current != 24_000_000 || debug.SetMemoryLimit(-1) != 24_000_000 {
		t.Errorf("24 MB: got %d, runtime %d", got.current, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(before)
	withEnv := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "100MiB"
		}
		return ""
	}
	for _, m := range []*memoryLimit{setMemoryLimit(24, withEnv), setMemoryLimit(0, noEnv)} {
		if m.current != before || debug.SetMemoryLimit(-1) != before {
			t.Errorf("limit changed to %d", m.current)
		}
		if got, moved := m.follow(); moved || got != before {
			t.Errorf("a limit the daemon did not set moved to %d", got)
		}
	}
}

// With a live heap that the configured limit does not leave room for, the
// limit follows it (half again plus slack), so the collector does not run
// back to back; it returns to the configured one when the heap shrinks.
func TestMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	m := setMemoryLimit(16, func(string) string { return "" })
	big := make([]byte, 40<<20)
	for i := range big {
		big[i] = 1
	}
	runtime.GC()
	got, moved := m.follow()
	if want := int64(40<<20)*3/2 + limitSlackBytes; !moved || got < want || debug.SetMemoryLimit(-1) != got {
		t.Errorf("with 40 MiB live: limit %d (moved %v), want at least %d", got, moved, want)
	}
	runtime.KeepAlive(big)
	big = nil
	runtime.GC()
	if got, moved := m.follow(); !moved || got != 16_000_000 {
		t.Errorf("after the heap shrank: limit %d (moved %v), want the configured 16000000", got, moved)
	}
}
