package analysis

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// dnsAnswer builds a response for question along a CNAME chain to addrs.
func dnsAnswer(t testing.TB, question string, chain []string, addrs ...string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1, Response: true})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(question + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	must(b.StartAnswers())
	owner := question
	hdr := func(n string) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(n + "."), Class: dnsmessage.ClassINET, TTL: 300}
	}
	for _, c := range chain {
		must(b.CNAMEResource(hdr(owner), dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(c + ".")}))
		owner = c
	}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		if ip.Is4() {
			must(b.AResource(hdr(owner), dnsmessage.AResource{A: ip.As4()}))
		} else {
			must(b.AAAAResource(hdr(owner), dnsmessage.AAAAResource{AAAA: ip.As16()}))
		}
	}
	out, err := b.Finish()
	must(err)
	return out
}

// helloSegments splits a hello into TCP segments of mss bytes, last first.
func helloSegments(flow observe.FlowID, at time.Time, hello []byte, mss int) []observe.Payload {
	var out []observe.Payload
	isn := uint32(0xfffffe00) // wraps inside the hello
	for off := 0; off < len(hello); off += mss {
		end := min(off+mss, len(hello))
		out = append([]observe.Payload{{Time: at, Flow: flow, Kind: observe.PayloadClientHello, TCPSeq: isn + uint32(off), Data: hello[off:end]}}, out...)
	}
	return out
}
