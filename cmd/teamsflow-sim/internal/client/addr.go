package client

import (
	"net"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

func udpTruth(local, peer net.Addr) truth.Stream {
	s := truth.Stream{Transport: "udp"}
	fillAddrs(&s, local, peer)
	return s
}

// fillAddrs sets the address fields from socket addresses.
func fillAddrs(s *truth.Stream, local, peer net.Addr) {
	lip, lport := split(local)
	pip, pport := split(peer)
	s.LocalAddr, s.LocalPort, s.PeerAddr, s.PeerPort = lip.String(), lport, pip.String(), pport
	s.Family = "ipv4"
	if lip.To4() == nil {
		s.Family = "ipv6"
	}
}

func split(a net.Addr) (net.IP, int) {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.IP, v.Port
	case *net.TCPAddr:
		return v.IP, v.Port
	}
	return nil, 0
}

func udpAddr(s string) *net.UDPAddr {
	a, _ := net.ResolveUDPAddr("udp4", s)
	return a
}
