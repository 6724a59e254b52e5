package analysis

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// What only the live agent knows of a flow (TCP flags, interface, socket
// cookie, the socket's thread) reaches its records, and stays there when a
// snapshot of changes leaves the flow out.
func TestLiveFieldsInRecords(t *testing.T) {
	owner := ownerOf(proc(4242, "chrome", "/opt/google/chrome/chrome"))
	owner.Thread = "Chrome_ChildIOT"
	tcpID := tcp("10.99.0.2:40100", "52.113.194.132:443")
	udpID := udp("10.99.0.2:41000", "52.113.194.133:3478")
	c := func(packets uint64) observe.Counters {
		return observe.Counters{Packets: packets, Bytes: packets * 100, First: t0, Last: t0.Add(sec)}
	}
	snap := observe.Snapshot{Time: t0.Add(sec), OnlyChanged: true, Flows: []observe.Flow{
		{ID: tcpID, Owner: owner, Sent: c(5), Recv: c(4), TCPFlags: 0x01 | 0x02 | 0x10 | 0x08,
			Interface: "eth0", Cookie: 4711},
		{ID: udpID, Owner: owner, Sent: c(3), Recv: c(3), Protos: observe.ProtoSTUN, Interface: "wlan0", Cookie: 4712},
	}}
	p := New(Config{})
	p.Observe(snap)
	check := func(when string) {
		t.Helper()
		rs := p.Records(true)
		r := find(rs, byFlow("10.99.0.2:40100", 443))
		if r == nil {
			t.Fatalf("%s: no record of the TCP flow among %d", when, len(rs))
		}
		type live struct {
			flags, iface, thread, comm string
			cookie                     uint64
		}
		want := live{"FIN,SYN,PSH,ACK", "eth0", "Chrome_ChildIOT", "chrome", 4711}
		got := live{r.TCPFlags, r.Interface, r.Thread, r.Comm, r.SocketCookie}
		if got != want {
			t.Errorf("%s: TCP flow %+v, want %+v", when, got, want)
		}
		u := find(rs, byFlow("10.99.0.2:41000", 3478))
		if u == nil {
			t.Fatalf("%s: no record of the UDP flow among %d", when, len(rs))
		}
		if u.TCPFlags != "" || u.Interface != "wlan0" || u.SocketCookie != 4712 {
			t.Errorf("%s: UDP flow tcp_flags %q interface %q cookie %d, want \"\" wlan0 4712", when, u.TCPFlags, u.Interface, u.SocketCookie)
		}
	}
	check("first snapshot")
	p.Observe(observe.Snapshot{Time: t0.Add(2 * sec), OnlyChanged: true})
	check("a snapshot that left the flows out")
}

// A capture file knows no interface, cookie nor owner: the records leave
// them out (omitempty), as analyze always did.
func TestCaptureFlowLeavesLiveFieldsOut(t *testing.T) {
	id := tcp("10.99.0.2:40100", "52.113.194.132:443")
	c := observe.Counters{Packets: 2, Bytes: 200, First: t0, Last: t0.Add(sec)}
	p := New(Config{})
	p.Observe(observe.Snapshot{Time: t0.Add(sec), Flows: []observe.Flow{{ID: id, Sent: c, Recv: c, TCPFlags: 0x12}}})
	r := find(p.Records(true), byFlow("10.99.0.2:40100", 443))
	if r == nil {
		t.Fatal("no record of the flow")
	}
	if r.Interface != "" || r.SocketCookie != 0 || r.Thread != "" || r.PID != 0 || r.TCPFlags != "SYN,ACK" {
		t.Errorf("interface %q cookie %d thread %q pid %d tcp_flags %q; want none but SYN,ACK",
			r.Interface, r.SocketCookie, r.Thread, r.PID, r.TCPFlags)
	}
}

func TestTCPFlagsSpelling(t *testing.T) {
	for flags, want := range map[uint8]string{
		0: "", 0x02: "SYN", 0x12: "SYN,ACK", 0x11: "FIN,ACK", 0x04: "RST", 0xff: "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR",
	} {
		if got := tcpFlags(flags); got != want {
			t.Errorf("tcpFlags(%#02x) = %q, want %q", flags, got, want)
		}
	}
}
