// Package dissect parses the payload samples that name a peer: DNS
// responses (which addresses a name resolved to, through which CNAMEs) and
// TLS ClientHellos (the server name the client asked for). Samples come
// from the kernel or a capture file and may be truncated or hostile, so
// every parser returns an error instead of panicking on any input.
package dissect

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSRecord is one answer: an address (A/AAAA) or an alias (CNAME).
type DNSRecord struct {
	Name   string     // owner name, lower case, no trailing dot
	Addr   netip.Addr // A or AAAA; invalid for a CNAME
	Target string     // CNAME target; "" for an address
	TTL    uint32     // seconds
}

// DNSResponse is what a DNS response says about names and addresses.
type DNSResponse struct {
	ID       uint16
	Question string // the name the client asked for
	Answers  []DNSRecord
}

// ErrNotResponse says a DNS message is a query, not an answer.
var ErrNotResponse = errors.New("dns: message is a query, not a response")

// ParseDNSResponse reads the question and the A, AAAA and CNAME answers of
// a DNS response. Other answer types are skipped; a response truncated in
// the answer section keeps the answers read before the cut.
func ParseDNSResponse(b []byte) (DNSResponse, error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return DNSResponse{}, fmt.Errorf("dns: header: %w", err)
	}
	if !h.Response {
		return DNSResponse{}, ErrNotResponse
	}
	r := DNSResponse{ID: h.ID}
	q, err := p.Question()
	if err != nil {
		return r, fmt.Errorf("dns: question: %w", err)
	}
	r.Question = CanonicalName(q.Name.String())
	if err := p.SkipAllQuestions(); err != nil {
		return r, fmt.Errorf("dns: questions: %w", err)
	}
	for {
		rec, err := nextAnswer(&p)
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return r, nil
		}
		if err != nil {
			if len(r.Answers) > 0 {
				return r, nil // keep what a truncated sample still holds
			}
			return r, fmt.Errorf("dns: answer: %w", err)
		}
		if rec.Name != "" {
			r.Answers = append(r.Answers, rec)
		}
	}
}

// nextAnswer returns the next A/AAAA/CNAME answer, or a zero record for an
// answer of another type.
func nextAnswer(p *dnsmessage.Parser) (DNSRecord, error) {
	h, err := p.AnswerHeader()
	if err != nil {
		return DNSRecord{}, err
	}
	rec := DNSRecord{Name: CanonicalName(h.Name.String()), TTL: h.TTL}
	switch h.Type {
	case dnsmessage.TypeA:
		a, err := p.AResource()
		if err != nil {
			return DNSRecord{}, err
		}
		rec.Addr = netip.AddrFrom4(a.A)
	case dnsmessage.TypeAAAA:
		a, err := p.AAAAResource()
		if err != nil {
			return DNSRecord{}, err
		}
		rec.Addr = netip.AddrFrom16(a.AAAA)
	case dnsmessage.TypeCNAME:
		c, err := p.CNAMEResource()
		if err != nil {
			return DNSRecord{}, err
		}
		rec.Target = CanonicalName(c.CNAME.String())
		if rec.Target == "" {
			return DNSRecord{}, nil // an alias to the root names nothing
		}
	default:
		return DNSRecord{}, p.SkipAnswer()
	}
	return rec, nil
}

// CanonicalName lower-cases a DNS name and drops the trailing dot, so that
// names from DNS, SNI and configuration compare equal.
func CanonicalName(n string) string {
	return strings.TrimSuffix(strings.ToLower(n), ".")
}
