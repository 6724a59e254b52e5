package client

import (
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// resolver looks names up the way a client's stub resolver does: A and
// AAAA queries over one UDP socket to the configured server, following
// the CNAME chain in the answers.
type resolver struct {
	conn    *dns.Conn
	queries int
	addrs   map[string][]net.IP
}

func newResolver(server string) (*resolver, error) {
	c, err := net.Dial("udp4", server)
	if err != nil {
		return nil, fmt.Errorf("opening DNS socket: %w", err)
	}
	return &resolver{conn: &dns.Conn{Conn: c}, addrs: map[string][]net.IP{}}, nil
}

func (r *resolver) lookup(name string) error {
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qt)
		m.RecursionDesired = true
		_ = r.conn.SetDeadline(time.Now().Add(2 * time.Second))
		if err := r.conn.WriteMsg(m); err != nil {
			return fmt.Errorf("querying %s: %w", name, err)
		}
		r.queries++
		resp, err := r.conn.ReadMsg()
		if err != nil {
			return fmt.Errorf("reading answer for %s: %w", name, err)
		}
		for _, rr := range resp.Answer {
			switch v := rr.(type) {
			case *dns.A:
				r.addrs[name] = append(r.addrs[name], v.A)
			case *dns.AAAA:
				r.addrs[name] = append(r.addrs[name], v.AAAA)
			}
		}
	}
	if len(r.addrs[name]) == 0 {
		return fmt.Errorf("resolving %s: no addresses", name)
	}
	return nil
}

func (r *resolver) truth() truth.Stream {
	s := udpTruth(r.conn.LocalAddr(), r.conn.RemoteAddr())
	s.Label, s.PacketsSent = truth.LabelDNS, r.queries
	return s
}

func (r *resolver) close() { _ = r.conn.Close() }
