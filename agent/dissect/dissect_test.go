package dissect

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

func TestClientHelloSNIRealHello(t *testing.T) {
	hello := pkt.ClientHello(t, "Teams.Microsoft.com")
	if len(hello) < 1200 {
		t.Logf("client hello is %d bytes (no post-quantum share?)", len(hello))
	}
	name, err := ClientHelloSNI(hello)
	if err != nil || name != "teams.microsoft.com" {
		t.Fatalf("got %q, %v", name, err)
	}
}

func TestClientHelloSNITruncated(t *testing.T) {
	hello := pkt.ClientHello(t, "emea.ng.msg.teams.microsoft.com")
	// Every cut either finds the name or asks for more; never another error.
	for cut := 0; cut < len(hello); cut++ {
		name, err := ClientHelloSNI(hello[:cut])
		if err == nil && name != "emea.ng.msg.teams.microsoft.com" {
			t.Fatalf("cut %d: wrong name %q", cut, name)
		}
		if err != nil && !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut %d: %v, want ErrTruncated", cut, err)
		}
	}
}

// A handshake split over several TLS records is joined before parsing.
func TestClientHelloSNIAcrossRecords(t *testing.T) {
	hello := pkt.ClientHello(t, "pipe.skype.com")
	hs := hello[5:]
	var split []byte
	for len(hs) > 0 {
		n := min(100, len(hs))
		split = append(split, 22, 3, 1, byte(n>>8), byte(n))
		split = append(split, hs[:n]...)
		hs = hs[n:]
	}
	if name, err := ClientHelloSNI(split); err != nil || name != "pipe.skype.com" {
		t.Fatalf("got %q, %v", name, err)
	}
}

func TestClientHelloSNIErrors(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"http":     {[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNotClientHello},
		"short":    {[]byte{22, 3}, ErrTruncated},
		"server":   {[]byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, ErrNotClientHello},
		"no-ext":   {append([]byte{22, 3, 3, 0, 42, 1, 0, 0, 38, 3, 3}, make([]byte, 32+1+2)...), nil},
		"too-long": {[]byte{22, 3, 3, 0, 4, 1, 0xff, 0xff, 0xff}, nil},
	}
	for name, c := range cases {
		_, err := ClientHelloSNI(c.in)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestPrefixJoinsSegments(t *testing.T) {
	hello := pkt.ClientHello(t, "teams.microsoft.com")
	p := NewPrefix(4096)
	isn := uint32(0xfffffff0) // wraps inside the hello
	p.Add(isn, hello[:600])
	p.Add(isn+1200, hello[1200:]) // out of order
	if _, err := ClientHelloSNI(p.Bytes()); !errors.Is(err, ErrTruncated) && len(hello) > 1200 {
		t.Fatalf("gap: %v, want ErrTruncated", err)
	}
	p.Add(isn+500, hello[500:1300]) // overlapping retransmission
	if name, err := ClientHelloSNI(p.Bytes()); err != nil || name != "teams.microsoft.com" {
		t.Fatalf("joined: %q, %v", name, err)
	}
	small := NewPrefix(10)
	small.Add(7, hello)
	if len(small.Bytes()) != 10 || !small.Full() {
		t.Fatalf("cap: %d bytes", len(small.Bytes()))
	}
	small.Add(5, []byte{1, 2}) // the true start arrives late
	if b := small.Bytes(); len(b) != 10 || b[0] != 1 || b[2] != hello[0] {
		t.Fatalf("rebase: % x", b)
	}
	// Segments of one hello in reverse order.
	rev := NewPrefix(4096)
	for off := len(hello) / 300 * 300; off >= 0; off -= 300 {
		rev.Add(isn+uint32(off), hello[off:min(off+300, len(hello))])
	}
	if name, err := ClientHelloSNI(rev.Bytes()); err != nil || name != "teams.microsoft.com" {
		t.Fatalf("reversed: %q, %v", name, err)
	}
}

func dnsResponse(t testing.TB, question string, answers ...dnsmessage.Resource) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true})
	b.EnableCompression()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(question), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	must(b.StartAnswers())
	for _, a := range answers {
		switch body := a.Body.(type) {
		case *dnsmessage.AResource:
			must(b.AResource(a.Header, *body))
		case *dnsmessage.AAAAResource:
			must(b.AAAAResource(a.Header, *body))
		case *dnsmessage.CNAMEResource:
			must(b.CNAMEResource(a.Header, *body))
		case *dnsmessage.TXTResource:
			must(b.TXTResource(a.Header, *body))
		}
	}
	out, err := b.Finish()
	must(err)
	return out
}

func rr(name string, ttl uint32, body dnsmessage.ResourceBody) dnsmessage.Resource {
	return dnsmessage.Resource{Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Class: dnsmessage.ClassINET, TTL: ttl}, Body: body}
}

func teamsAnswer(t testing.TB) []byte {
	return dnsResponse(t, "Teams.Microsoft.com.",
		rr("teams.microsoft.com.", 300, &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("s-0005.s-msedge.net.")}),
		rr("s-0005.s-msedge.net.", 60, &dnsmessage.TXTResource{TXT: []string{"skipped"}}),
		rr("s-0005.s-msedge.net.", 60, &dnsmessage.AResource{A: [4]byte{52, 113, 194, 132}}),
		rr("s-0005.s-msedge.net.", 60, &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2603:1063:4::3").As16()}))
}

func TestParseDNSResponse(t *testing.T) {
	r, err := ParseDNSResponse(teamsAnswer(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Question != "teams.microsoft.com" || len(r.Answers) != 3 {
		t.Fatalf("%+v", r)
	}
	if a := r.Answers[0]; a.Target != "s-0005.s-msedge.net" || a.TTL != 300 {
		t.Errorf("cname %+v", a)
	}
	if a := r.Answers[1]; a.Addr != netip.MustParseAddr("52.113.194.132") || a.TTL != 60 {
		t.Errorf("a %+v", a)
	}
	if a := r.Answers[2]; a.Addr != netip.MustParseAddr("2603:1063:4::3") {
		t.Errorf("aaaa %+v", a)
	}
}

func TestParseDNSResponseTruncatedAndBad(t *testing.T) {
	full := teamsAnswer(t)
	for cut := 0; cut < len(full); cut++ {
		r, err := ParseDNSResponse(full[:cut])
		if err == nil && len(r.Answers) == 0 && cut < len(full) {
			t.Errorf("cut %d: no answers and no error", cut)
		}
	}
	query := append([]byte(nil), full...)
	query[2] &^= 0x80 // QR bit off
	if _, err := ParseDNSResponse(query); !errors.Is(err, ErrNotResponse) {
		t.Errorf("query: %v", err)
	}
}
