package bpf

import "testing"

func TestMergeCPUs(t *testing.T) {
	var a, b FlowStats
	a.Dir[0] = FlowDir{Bytes: 10, Packets: 1, FirstNs: 50, Last: 60, Dscp: 46, TcpFlags: 0x02}
	b.Dir[0] = FlowDir{Bytes: 20, Packets: 2, FirstNs: 40, Last: 70, Dscp: 0, TcpFlags: 0x10}
	b.Owner.Tgid, b.Cookie = 9, 77
	m := MergeCPUs([]FlowStats{a, b, {}})
	d := m.Dir[0]
	if d.Bytes != 30 || d.Packets != 3 || d.FirstNs != 40 || d.Last != 70 || d.Dscp != 0 || d.TcpFlags != 0x12 {
		t.Errorf("merged %+v", d)
	}
	if m.Owner.Tgid != 9 || m.Cookie != 77 || m.Dir[1].Packets != 0 {
		t.Errorf("owner/cookie/other direction wrong: %+v", m)
	}
}

// A new socket took the address pair on one CPU while another CPU, idle
// since, still names the old one: the socket seen last wins, cookie and
// owner together.
func TestMergeCPUsTakesTheLatestSocket(t *testing.T) {
	var old, cur FlowStats
	old.Dir[0] = FlowDir{Packets: 5, Last: 100}
	old.Cookie, old.Owner.Tgid = 11, 1000
	cur.Dir[1] = FlowDir{Packets: 2, Last: 300}
	cur.Cookie, cur.Owner.Tgid = 22, 2000
	for _, order := range [][]FlowStats{{old, cur}, {cur, old}} {
		m := MergeCPUs(order)
		if m.Cookie != 22 || m.Owner.Tgid != 2000 {
			t.Errorf("merged socket: cookie %d owner %d, want the latest: 22, 2000", m.Cookie, m.Owner.Tgid)
		}
	}
	// A socket opened before the agent has a cookie and no owner yet.
	cur.Owner.Tgid = 0
	if m := MergeCPUs([]FlowStats{old, cur}); m.Cookie != 22 || m.Owner.Tgid != 0 {
		t.Errorf("latest socket without an owner: cookie %d owner %d, want 22 and none", m.Cookie, m.Owner.Tgid)
	}
}

// A datagram held for neighbour resolution left from softirq on one CPU,
// which kept the socket's creator (pending) and saw the flow last; the
// sender's own datagrams on another CPU read the sender: it wins.
func TestMergeCPUsPrefersTheSenderRead(t *testing.T) {
	var held, read FlowStats
	held.Dir[0] = FlowDir{Packets: 1, Last: 100, OwnerPending: 1}
	held.Dir[1] = FlowDir{Packets: 9, Last: 300}
	held.Cookie, held.Owner.Tgid = 11, 1000
	read.Dir[0] = FlowDir{Packets: 9, Last: 200}
	read.Cookie, read.Owner.Tgid = 11, 2000
	for _, order := range [][]FlowStats{{held, read}, {read, held}} {
		if m := MergeCPUs(order); m.Owner.Tgid != 2000 {
			t.Errorf("merged owner %d, want the sender read: 2000", m.Owner.Tgid)
		}
	}
	if m := MergeCPUs([]FlowStats{held}); m.Owner.Tgid != 1000 {
		t.Errorf("only the held datagram's CPU: owner %d, want its creator 1000", m.Owner.Tgid)
	}
}
