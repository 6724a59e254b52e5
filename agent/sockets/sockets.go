// Package sockets lists the TCP and UDP sockets that already exist, with
// the process holding each, so that flows of sockets opened before the
// agent started still get their owner (backfill). Sockets come from
// sock_diag (which also reports, and generates, each socket's cookie, the
// key the kernel programs use); owners from the socket inodes in
// /proc/PID/fd. TCPRTTs reads, through the same sock_diag, the kernel's
// smoothed round-trip time of each TCP socket (the `rtt_ms` of TCP streams).
package sockets

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// Socket is one existing socket and, when found, the process holding it.
type Socket struct {
	NetnsCookie uint64
	Protocol    uint8 // unix.IPPROTO_TCP or IPPROTO_UDP
	Local, Peer netip.AddrPort
	Cookie      uint64
	Inode       uint32
	PID         uint32 // 0 when no process holds it (or it could not be read)
}

// List returns the sockets of the network namespace at nsPath ("" for the
// agent's own), with owners from inodes (see Inodes).
func List(nsPath string, owners map[uint32]uint32) ([]Socket, error) {
	var out []Socket
	err := netns.Do(nsPath, func() error {
		cookie, err := NetnsCookie()
		if err != nil {
			return err
		}
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			for _, proto := range []uint8{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
				socks, err := diag(fam, proto)
				if err != nil {
					return fmt.Errorf("listing sockets: %w", err)
				}
				for _, s := range socks {
					out = append(out, convert(s, proto, cookie, owners))
				}
			}
		}
		return nil
	})
	return out, err
}

func diag(family, proto uint8) ([]*netlink.Socket, error) {
	var socks []*netlink.Socket
	var err error
	if proto == unix.IPPROTO_TCP {
		socks, err = netlink.SocketDiagTCP(family)
	} else {
		socks, err = netlink.SocketDiagUDP(family)
	}
	if errors.Is(err, netlink.ErrDumpInterrupted) {
		err = nil // sockets changed during the dump; what we have is still true
	}
	return socks, err
}

func convert(s *netlink.Socket, proto uint8, nsCookie uint64, owners map[uint32]uint32) Socket {
	return Socket{
		NetnsCookie: nsCookie,
		Protocol:    proto,
		Local:       netip.AddrPortFrom(addr(s.ID.Source), s.ID.SourcePort),
		Peer:        netip.AddrPortFrom(addr(s.ID.Destination), s.ID.DestinationPort),
		Cookie:      uint64(s.ID.Cookie[0]) | uint64(s.ID.Cookie[1])<<32,
		Inode:       s.INode,
		PID:         owners[s.INode],
	}
}

func addr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// NetnsCookie returns the cookie of the calling thread's network namespace,
// the value bpf_get_netns_cookie() gives the kernel programs.
func NetnsCookie() (uint64, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("reading network namespace cookie: %w", err)
	}
	defer unix.Close(fd)
	v, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
	if err != nil {
		return 0, fmt.Errorf("reading network namespace cookie: %w", err)
	}
	return v, nil
}

// Inodes maps each socket inode held open by a process to that process's
// pid. Processes that cannot be read (gone, or not permitted) are skipped.
func Inodes() map[uint32]uint32 {
	out := map[uint32]uint32{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.ParseUint(d.Name(), 10, 32)
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 32)
			if err == nil {
				if _, seen := out[uint32(ino)]; !seen {
					out[uint32(ino)] = uint32(pid)
				}
			}
		}
	}
	return out
}
