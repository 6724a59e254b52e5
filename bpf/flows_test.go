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
