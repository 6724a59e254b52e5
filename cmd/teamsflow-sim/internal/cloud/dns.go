package cloud

import (
	"net"
	"strings"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv/topo"
)

// dnsHandler answers from topo.Zone with the whole CNAME chain in the
// answer section, as recursive resolvers do, so an observer of the
// response learns every name on the way to the address.
type dnsHandler struct {
	log zerolog.Logger
}

func (h dnsHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
		if rec, ok := topo.Lookup(name); ok {
			resp.Answer = answer(rec, q.Qtype)
		} else {
			resp.Rcode = dns.RcodeNameError
		}
		h.log.Debug().Str("name", name).Str("type", dns.TypeToString[q.Qtype]).Int("answers", len(resp.Answer)).Msg("query")
	}
	_ = w.WriteMsg(resp)
}

func answer(rec topo.Record, qtype uint16) []dns.RR {
	var out []dns.RR
	owner := dns.Fqdn(rec.Name)
	for _, target := range rec.CNAMEs {
		out = append(out, &dns.CNAME{
			Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 300}, Target: dns.Fqdn(target),
		})
		owner = dns.Fqdn(target)
	}
	hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: 60}
	switch qtype {
	case dns.TypeA:
		for _, a := range rec.A {
			h := hdr
			h.Rrtype = dns.TypeA
			out = append(out, &dns.A{Hdr: h, A: net.ParseIP(a).To4()})
		}
	case dns.TypeAAAA:
		for _, a := range rec.AAAA {
			h := hdr
			h.Rrtype = dns.TypeAAAA
			out = append(out, &dns.AAAA{Hdr: h, AAAA: net.ParseIP(a)})
		}
	}
	return out
}
