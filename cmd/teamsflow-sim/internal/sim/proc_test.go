package sim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// owner is a socket's owning process as /proc shows it.
type owner struct {
	pid, ppid     int
	comm          string
	cmdline       []string
	parentCmdline []string
}

// udpOwner finds, while the call runs, the process that owns the UDP
// socket bound to localPort in the namespace of nsPid: the socket's inode
// from /proc/nsPid/net/udp, then the process holding that inode in its
// fd table. This is what an observer does, independent of the simulator.
func udpOwner(nsPid, localPort int, timeout time.Duration) (owner, error) {
	deadline := time.Now().Add(timeout)
	for {
		inode, err := udpInode(nsPid, localPort)
		if err == nil && inode != "" {
			if o, err := inodeOwner(inode); err == nil {
				return o, nil
			}
		}
		if time.Now().After(deadline) {
			return owner{}, fmt.Errorf("no process owns a UDP socket on port %d (last error %v)", localPort, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func udpInode(nsPid, port int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/udp", nsPid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[0] == "sl" {
			continue
		}
		_, hexPort, _ := strings.Cut(fields[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 16)
		// Port 0 asks for any unconnected socket: the media sockets
		// (the DNS socket is connected).
		unconnected := strings.HasSuffix(fields[2], ":0000")
		if err == nil && (int(p) == port || port == 0 && unconnected) {
			return fields[9], nil
		}
	}
	return "", sc.Err()
}

func inodeOwner(inode string) (owner, error) {
	want := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, _ := os.ReadDir(dir + "/fd")
		for _, fd := range fds {
			if link, _ := os.Readlink(dir + "/fd/" + fd.Name()); link == want {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				return describe(pid)
			}
		}
	}
	return owner{}, fmt.Errorf("no process holds %s", want)
}

func describe(pid int) (owner, error) {
	o := owner{pid: pid}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return o, err
	}
	o.comm = strings.TrimSpace(string(comm))
	o.cmdline = cmdline(pid)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return o, err
	}
	// Fields after the parenthesised comm: state, ppid, ...
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	o.ppid, _ = strconv.Atoi(strings.Fields(rest)[1])
	o.parentCmdline = cmdline(o.ppid)
	return o, nil
}

func cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
