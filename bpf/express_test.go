package bpf

import (
	"github.com/teamsflow/teamsflow/bpf/contract"

	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"runtime"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/sockets"
)

// busyFlowPacket is the i-th packet of a test flow: sizes, DSCP and TCP
// flags change from packet to packet, so that counting them wrongly shows.
func busyFlowPacket(t *testing.T, v6, tcp bool, i int) (pkt []byte, ipLen int, dscp, flags uint8) {
	t.Helper()
	dscp = uint8(i%4*10 + 1)
	body := payload(20 + i%7)
	var l4 gopacket.SerializableLayer = udp(40000, 3479)
	if tcp {
		seg := &layers.TCP{SrcPort: 40000, DstPort: 443, ACK: i > 0, SYN: i == 0, PSH: i == 20, Window: 1024}
		l4, flags = seg, tcpFlags(seg)
	}
	var l3 gopacket.SerializableLayer
	typ := layers.EthernetTypeIPv4
	next := layers.IPProtocolUDP
	if tcp {
		next = layers.IPProtocolTCP
	}
	if v6 {
		l3, typ = ipv6(next, dscp<<2), layers.EthernetTypeIPv6
	} else {
		l3 = ipv4(next, dscp<<2)
	}
	pkt = serialize(t, eth(typ), l3, l4, body)
	return pkt, len(pkt) - 14, dscp, flags
}

func tcpFlags(s *layers.TCP) uint8 {
	var f uint8
	for bit, on := range []bool{s.FIN, s.SYN, s.RST, s.PSH, s.ACK, s.URG, s.ECE, s.CWR} {
		if on {
			f |= 1 << bit
		}
	}
	return f
}

// gsoContext is a struct __sk_buff for BPF_PROG_TEST_RUN that says the
// packet is an aggregate of segs segments (gso_segs sits at byte 164).
func gsoContext(segs uint32) []byte {
	ctx := make([]byte, 192)
	binary.LittleEndian.PutUint32(ctx[164:], segs)
	return ctx
}

// A busy flow's packets after its first few take the express lane
// (tf_express.h), which reads the headers on its own: every packet and
// byte must still be counted, with the last DSCP, every TCP flag, and an
// aggregate as its segments, in each family, protocol and direction.
func TestBusyFlowCountsEveryPacket(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, tcp := range []bool{false, true} {
			for _, egress := range []bool{true, false} {
				t.Run(fmt.Sprintf("v6=%v/tcp=%v/egress=%v", v6, tcp, egress), func(t *testing.T) {
					countBusyFlow(t, v6, tcp, egress)
				})
			}
		}
	}
}

func countBusyFlow(t *testing.T, v6, tcp, egress bool) {
	onOneCPU(t) // in the subtest's own goroutine: the slots are per CPU
	o := loadWithSlots(t, 256)
	prog := o.TestClassifier(egress)
	var want FlowDir
	for i := range 40 {
		pkt, ipLen, dscp, flags := busyFlowPacket(t, v6, tcp, i)
		run(t, prog, pkt)
		want.Packets++
		want.Bytes += uint64(ipLen)
		want.Dscp, want.TcpFlags = dscp, want.TcpFlags|flags
	}
	pkt, _, dscp, flags := busyFlowPacket(t, v6, tcp, 40)
	ret, err := prog.Run(&ebpf.RunOptions{Data: pkt, Context: gsoContext(4)})
	if err != nil || int32(ret) != -1 {
		t.Fatalf("running an aggregate: %d, %v", int32(ret), err)
	}
	want.Packets += 4
	want.Bytes += uint64(len(pkt) - 14) // an aggregate's IP header tells one segment's length
	want.Dscp, want.TcpFlags = dscp, want.TcpFlags|flags

	got, held := busyFlowStats(t, o, v6, tcp, egress)
	if held != 1 {
		t.Errorf("the flow holds %d slots, want 1", held)
	}
	dir, other := got.Dir[1], got.Dir[0]
	if egress {
		dir, other = got.Dir[0], got.Dir[1]
	}
	if dir.Packets != want.Packets || dir.Bytes != want.Bytes || dir.Dscp != want.Dscp || dir.TcpFlags != want.TcpFlags {
		t.Errorf("counted packets=%d bytes=%d dscp=%d flags=%#x, want %d %d %d %#x",
			dir.Packets, dir.Bytes, dir.Dscp, dir.TcpFlags, want.Packets, want.Bytes, want.Dscp, want.TcpFlags)
	}
	if other.Packets != 0 {
		t.Errorf("%d packets counted in the other direction", other.Packets)
	}
}

// busyFlowStats finds the test flow, seen from the local end, and how
// many slots hold it.
func busyFlowStats(t *testing.T, o *Objects, v6, tcp, egress bool) (FlowStats, int) {
	t.Helper()
	local, peer := net.IP(ip4A), net.IP(ip4B)
	if v6 {
		local, peer = ip6A, ip6B
	}
	f := flow{local: addr(local), peer: addr(peer), localPort: 40000, peerPort: 3479, proto: 17}
	if tcp {
		f.peerPort, f.proto = 443, 6
	}
	if !egress {
		f.local, f.peer = f.peer, f.local
		f.localPort, f.peerPort = f.peerPort, f.localPort
	}
	flows := dumpFlows(t, o)
	got, ok := flows[f]
	if !ok || len(flows) != 1 {
		t.Fatalf("want only flow %+v, got %+v", f, flows)
	}
	held := 0
	for _, idx := range slotsHeld(t, o.Flows()) {
		held += len(idx)
	}
	return got, held
}

// Busy flows whose own slot other flows hold sit in the next slots of
// their group, where the express lane looks after the own one; a flow
// finding every slot of its group held goes to the flow map. Their counts
// stay exact.
func TestBusyFlowsFurtherInTheGroup(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, slotWays)
	prog := o.TestClassifier(true)
	run(t, prog, udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	first := keyOfPort(t, o, 1000)
	sent := map[uint16]uint64{1000: 1}
	var later []FlowKey // flows whose own slot is the first one's
	for k := first; len(later) < slotWays; {
		k.LocalPort++
		if slotHash(&k)%slotWays == slotHash(&first)%slotWays {
			later = append(later, k)
		}
	}
	for _, k := range later {
		for range 40 {
			run(t, prog, udpPacket(t, false, ip4A, ip4B, k.LocalPort, 2000))
		}
		sent[k.LocalPort] = 40
	}
	assertFlows(t, o, sent)
	held := slotsHeld(t, o.Flows())
	own := int(slotHash(&first) % slotWays)
	for i, k := range later[:slotWays-1] {
		if want := own ^ (i + 1); len(held[k]) != 1 || held[k][0] != want {
			t.Errorf("flow %d is in slots %v, want [%d]", k.LocalPort, held[k], want)
		}
	}
	if last := later[slotWays-1]; held[last] != nil {
		t.Errorf("flow %d is in slots %v, want the map: its group was full", last.LocalPort, held[last])
	}
	// The agent finds them where they are to free them.
	if err := o.Flows().Delete(later); err != nil {
		t.Fatal(err)
	}
	if held := slotsHeld(t, o.Flows()); len(held) != 1 || held[first] == nil {
		t.Errorf("after freeing the later flows the slots hold %v, want only the first", held)
	}
}

// A UDP flow's first packets are read for a protocol. Once past the owner
// search, the express lane counts those whose payload shows none (in the
// test, zeros), since reading them would change nothing; a protocol that
// turns up after them must still be seen, with every packet counted.
func TestProtocolAfterPayloadsShowingNone(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, 256)
	prog := o.TestClassifier(true)
	magic := []byte{0x21, 0x12, 0xA4, 0x42}
	rtp := []byte{0x80, 0x6F, 0, 1, 0, 0, 0, 160, 0xCA, 0xFE, 0, 1}
	cases := []struct {
		name string
		body []byte
		want uint16
	}{
		{"stun binding", slices.Concat([]byte{0, 1, 0, 0}, magic, make([]byte, 12)), contract.ProtoSTUN},
		{"turn allocate", slices.Concat([]byte{0, 3, 0, 0}, magic, make([]byte, 12)), contract.ProtoSTUN | contract.ProtoTURN},
		{"ms-turn", slices.Concat([]byte{1, 1, 0, 8}, make([]byte, 24)), contract.ProtoMSTURN},
		{"dtls", slices.Concat([]byte{22, 0xFE, 0xFD}, make([]byte, 30)), contract.ProtoDTLS},
		{"channeldata rtp", slices.Concat([]byte{0x40, 0, 0, 16}, rtp, make([]byte, 4)), contract.ProtoChannelData | contract.ProtoRTP},
		{"rtp", slices.Concat(rtp, make([]byte, 20)), contract.ProtoRTP},
		{"rtcp", slices.Concat([]byte{0x80, 200, 0, 6}, make([]byte, 24)), contract.ProtoRTCP},
		{"none", make([]byte, 40), 0},
	}
	const before = 14 // past the owner search, within the hint tries
	for i, c := range cases {
		for range before {
			run(t, prog, serialize(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolUDP, 0), udp(41000+uint16(i), 3479), payload(40)))
		}
		run(t, prog, serialize(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolUDP, 0), udp(41000+uint16(i), 3479), gopacket.Payload(c.body)))
	}
	flows, err := o.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		var got *FlowStats
		for k, v := range flows {
			if k.LocalPort == 41000+uint16(i) {
				got = &v
			}
		}
		if got == nil {
			t.Errorf("%s: no flow", c.name)
			continue
		}
		if got.Protos != c.want || got.Dir[0].Packets != before+1 {
			t.Errorf("%s: protocols %#x after %d packets, want %#x after %d", c.name, got.Protos, got.Dir[0].Packets, c.want, before+1)
		}
	}
	var k RTPKey
	var v []byte
	sources := 0
	for it := o.RTP().Iterate(); it.Next(&k, &v); {
		sources++
	}
	if sources != 2 {
		t.Errorf("%d RTP sources, want 2 (plain and in ChannelData)", sources)
	}
}

// Flows that differ by namespace alone, in one slot group (a CPU's only
// one here), are kept apart by the comparison, which includes the
// namespace, in the express lane as on the full path.
func TestSameTupleInTwoNamespaces(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, slotWays)
	prog := o.TestClassifier(true)
	pkt := udpPacket(t, false, ip4A, ip4B, 1000, 2000)
	for range 30 {
		run(t, prog, pkt)
	}
	other := runInNewNetns(t, prog, pkt, 50)
	assertPacketsByNetns(t, o, map[uint64]uint64{netnsCookie(t): 30, other: 50})
}

// runInNewNetns runs prog n times on pkt in a new network namespace (the
// kernel's test harness puts the packet on the loopback of the namespace
// of the thread that runs it) and returns the namespace's cookie.
func runInNewNetns(t *testing.T, prog *ebpf.Program, pkt []byte, n int) uint64 {
	t.Helper()
	type result struct {
		cookie uint64
		err    error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with its namespace
		var r result
		var set unix.CPUSet
		set.Set(0)
		r.err = unix.SchedSetaffinity(0, &set)
		if r.err == nil {
			r.err = unix.Unshare(unix.CLONE_NEWNET)
		}
		if r.err == nil {
			r.cookie, r.err = sockets.NetnsCookie()
		}
		for i := 0; r.err == nil && i < n; i++ {
			var ret uint32
			if ret, r.err = prog.Run(&ebpf.RunOptions{Data: pkt}); r.err == nil && int32(ret) != -1 {
				r.err = fmt.Errorf("classifier returned %d, want TC_NEXT (-1)", int32(ret))
			}
		}
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.cookie
}

func netnsCookie(t *testing.T) uint64 {
	t.Helper()
	c, err := sockets.NetnsCookie()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertPacketsByNetns checks the sent packets of every flow by its
// namespace, and that each flow holds one slot.
func assertPacketsByNetns(t *testing.T, o *Objects, want map[uint64]uint64) {
	t.Helper()
	got := map[uint64]uint64{}
	err := o.Flows().Read(func(k FlowKey, v []FlowStats) { got[k.Netns] += MergeCPUs(v).Dir[0].Packets })
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("packets by namespace %v, want %v", got, want)
	}
	for k, idx := range slotsHeld(t, o.Flows()) {
		if len(idx) != 1 {
			t.Errorf("flow in namespace %d is in slots %v, want one", k.Netns, idx)
		}
	}
}
