package kernel

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Ring-buffer records as the kernel programs write them: the generated
// structs in host byte order (sock.c, proc.c reserve the whole struct;
// tf_hints.h outputs a payload event's header plus its Len data bytes).

func encodeRecord(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, v); err != nil {
		tb.Fatalf("encoding %T: %v", v, err)
	}
	return buf.Bytes()
}

func kernelString(s string, n int) []int8 {
	out := make([]int8, n)
	for i := 0; i < len(s) && i < n-1; i++ {
		out[i] = int8(s[i])
	}
	return out
}

// sockRecord is a TCP-established event of an ms-teams socket.
func sockRecord(tb testing.TB) []byte {
	ev := bpf.SockEvent{Type: uint32(contract.EvTCPEstab), Family: 2, Protocol: 6, TsNs: 123_456_789_000,
		Cookie: 4242, NetnsCookie: 4026531840, LocalPort: 50412, PeerPort: 443}
	ev.Owner.Tgid, ev.Owner.Pid, ev.Owner.Uid, ev.Owner.StartNs = 3100, 3107, 1000, 98_000_000_000
	copy(ev.Owner.Comm[:], kernelString("ms-teams", 16))
	local, peer := netip.MustParseAddr("10.99.0.2").As4(), netip.MustParseAddr("52.113.194.132").As4()
	copy(ev.LocalAddr[:], local[:])
	copy(ev.PeerAddr[:], peer[:])
	return encodeRecord(tb, &ev)
}

// procRecord is the exec event of a Teams PWA started from Edge.
func procRecord(tb testing.TB) []byte {
	ev := bpf.ProcEvent{Type: uint32(contract.EvProcExec), Tgid: 3100, Ppid: 2900, Uid: 1000,
		TsNs: 98_000_000_000, StartNs: 98_000_000_000}
	copy(ev.Comm[:], kernelString("msedge", 16))
	copy(ev.Filename[:], kernelString("/opt/microsoft/msedge/msedge", 128))
	args := "/opt/microsoft/msedge/msedge\x00--profile-directory=Default\x00--app-id=cifhbcnohmdccbgoicgdjpfamggdegmo\x00"
	copy(ev.Args[:], kernelString(args, 256))
	ev.ArgsLen = uint32(len(args))
	return encodeRecord(tb, &ev)
}

// payloadRecord is a DNS answer for teams.microsoft.com along its CNAME
// chain, as the TC program samples it on ingress.
func payloadRecord(tb testing.TB) ([]byte, []byte) {
	answer := teamsDNSAnswer(tb)
	ev := bpf.PayloadEvent{Type: uint32(contract.EvPayload), Kind: contract.SampleDNS, Len: uint16(len(answer)), TsNs: 123_000_000_000}
	ev.Flow.Protocol, ev.Flow.Family, ev.Flow.LocalPort, ev.Flow.PeerPort = 17, 4, 41000, 53
	copy(ev.Data[:], answer)
	full := encodeRecord(tb, &ev)
	head := int(unsafe.Offsetof(ev.Data))
	return full[:head+len(answer)], answer
}

func teamsDNSAnswer(tb testing.TB) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true, RecursionAvailable: true})
	name := func(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
	hdr := func(s string) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: name(s), Class: dnsmessage.ClassINET, TTL: 60}
	}
	must := func(err error) {
		if err != nil {
			tb.Fatalf("building a DNS answer: %v", err)
		}
	}
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: name("teams.microsoft.com."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	must(b.StartAnswers())
	must(b.CNAMEResource(hdr("teams.microsoft.com."), dnsmessage.CNAMEResource{CNAME: name("teams.office.com.")}))
	must(b.CNAMEResource(hdr("teams.office.com."), dnsmessage.CNAMEResource{CNAME: name("s-0005.s-msedge.net.")}))
	must(b.AResource(hdr("s-0005.s-msedge.net."), dnsmessage.AResource{A: [4]byte{52, 113, 194, 132}}))
	out, err := b.Finish()
	must(err)
	return out
}

func BenchmarkDecodeSockEvent(b *testing.B) {
	raw := sockRecord(b)
	ev, err := Decode(raw)
	if se, ok := ev.(*bpf.SockEvent); err != nil || !ok || se.Cookie != 4242 || contract.CString(se.Owner.Comm[:]) != "ms-teams" {
		b.Fatalf("decoded %+v, %v: want the ms-teams socket 4242", ev, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeProcEvent(b *testing.B) {
	raw := procRecord(b)
	ev, err := Decode(raw)
	if pe, ok := ev.(*bpf.ProcEvent); err != nil || !ok || pe.Tgid != 3100 || contract.CString(pe.Filename[:]) != "/opt/microsoft/msedge/msedge" {
		b.Fatalf("decoded %+v, %v: want msedge 3100", ev, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePayloadEvent(b *testing.B) {
	raw, answer := payloadRecord(b)
	ev, err := Decode(raw)
	if s, ok := ev.(*contract.Sample); err != nil || !ok || s.Kind != contract.SampleDNS || !bytes.Equal(s.Data, answer) {
		b.Fatalf("decoded %+v, %v: want the DNS answer", ev, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
