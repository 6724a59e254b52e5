package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseBinaryPages hands back the pages of teamsflow's own executable
// that starting touched: loading reads the embedded kernel programs and
// runs code (BTF parsing, attaching) that never runs again, ~16 MB of
// resident pages of which the running daemon uses one or two. The pages
// are clean copies of the file: what is used again is read back from the
// page cache on first use. Kernels before 5.4 do not know MADV_PAGEOUT:
// nothing is released there.
func releaseBinaryPages() error {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	ranges, err := readOnlyMappings("/proc/self/maps", exe)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range ranges {
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_PAGEOUT); e != 0 {
			errs = append(errs, fmt.Errorf("releasing %x-%x: %w", r[0], r[1], e))
		}
	}
	return errors.Join(errs...)
}

// readOnlyMappings lists the address ranges of path mapped without write
// access in a /proc/PID/maps file: code and read-only data, never data
// the program writes.
func readOnlyMappings(maps, path string) ([][2]uintptr, error) {
	f, err := os.Open(maps)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path || strings.ContainsRune(fields[1], 'w') {
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

// setMemoryLimit makes limitMB (10^6 bytes) the Go runtime's soft memory
// limit, so that with many flows the heap is collected before it grows
// to twice what is live (GOGC's default). 0 leaves the runtime's own
// setting, and so does GOMEMLIMIT in the environment: whoever set it
// meant it. It returns the limit in force, in bytes.
func setMemoryLimit(limitMB uint32, getenv func(string) string) int64 {
	if limitMB == 0 || getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(limitMB) * 1_000_000
	debug.SetMemoryLimit(limit)
	return limit
}
