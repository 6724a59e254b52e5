package sockets

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// TCPRTT is the kernel's round-trip estimate of one TCP socket: tcp_info's
// smoothed RTT (tcpi_rtt, the RFC 6298 SRTT the kernel's retransmission timer
// uses), its variation and the lowest sample, as sock_diag reports them
// (INET_DIAG_INFO). The kernel times a segment until its ACK, so a peer's
// delayed ACK (40 ms and more) enters the samples of a flow whose last
// segment had no answer to carry it; MinRTT is the path without it.
type TCPRTT struct {
	NetnsCookie uint64
	Local, Peer netip.AddrPort
	Cookie      uint64 // the socket cookie the kernel programs key flows by
	State       uint8  // TCP state (1 established, ...)
	RTT         time.Duration
	RTTVar      time.Duration
	MinRTT      time.Duration
}

// TCPRTTs returns the estimates of the TCP sockets in the network namespace
// at nsPath ("" for the agent's own) that have measured a round trip at all:
// a socket without a sample (listening, or not yet answered) is left out, so
// a missing RTT is never reported as 0. Call it for each namespace the agent
// watches, as backfill calls List.
func TCPRTTs(nsPath string) ([]TCPRTT, error) {
	var out []TCPRTT
	err := netns.Do(nsPath, func() error {
		cookie, err := NetnsCookie()
		if err != nil {
			return err
		}
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			resps, err := netlink.SocketDiagTCPInfo(fam)
			if errors.Is(err, netlink.ErrDumpInterrupted) {
				err = nil // sockets changed during the dump; what we have is still true
			}
			if err != nil {
				return fmt.Errorf("reading TCP round trips: %w", err)
			}
			for _, r := range resps {
				if e, ok := tcpRTT(r, cookie); ok {
					out = append(out, e)
				}
			}
		}
		return nil
	})
	return out, err
}

func tcpRTT(r *netlink.InetDiagTCPInfoResp, nsCookie uint64) (TCPRTT, bool) {
	if r == nil || r.InetDiagMsg == nil || r.TCPInfo == nil || r.TCPInfo.Rtt == 0 {
		return TCPRTT{}, false
	}
	s, info := r.InetDiagMsg, r.TCPInfo
	minRTT := time.Duration(info.Min_rtt) * time.Microsecond
	if info.Min_rtt == ^uint32(0) {
		minRTT = 0 // no sample kept (the kernel's "unset")
	}
	return TCPRTT{
		NetnsCookie: nsCookie,
		Local:       netip.AddrPortFrom(addr(s.ID.Source), s.ID.SourcePort),
		Peer:        netip.AddrPortFrom(addr(s.ID.Destination), s.ID.DestinationPort),
		Cookie:      uint64(s.ID.Cookie[0]) | uint64(s.ID.Cookie[1])<<32,
		State:       s.State,
		RTT:         time.Duration(info.Rtt) * time.Microsecond,
		RTTVar:      time.Duration(info.Rttvar) * time.Microsecond,
		MinRTT:      minRTT,
	}, true
}

// TCPRTTsByCookie reads every namespace in paths (the namespaces the agent
// watches, "" for its own) and keys the estimates by socket cookie, which
// the kernel keeps unique across namespaces. A namespace that cannot be read
// (gone meanwhile) is named in the joined error; the others' estimates still
// come back.
func TCPRTTsByCookie(paths []string) (map[uint64]TCPRTT, error) {
	out := map[uint64]TCPRTT{}
	var errs []error
	for _, p := range paths {
		rtts, err := TCPRTTs(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("namespace %q: %w", p, err))
			continue
		}
		for _, r := range rtts {
			out[r.Cookie] = r
		}
	}
	return out, errors.Join(errs...)
}
