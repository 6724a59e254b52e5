package bpf

import (
	"github.com/teamsflow/teamsflow/bpf/contract"

	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// onOneCPU keeps the test's thread, and so every prog.Run, on CPU 0: the
// slots are per CPU, and these tests count on which flow came first.
func onOneCPU(t *testing.T) {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	onCPU(t, 0)
}

// onCPU moves the test's (locked) thread to one CPU.
func onCPU(t *testing.T, cpu int) {
	t.Helper()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
}

func loadWithSlots(t *testing.T, slots int) *Objects {
	t.Helper()
	testenv.RequirePrivileged(t)
	o, err := Load(Config{FlowMapEntries: 1024, FlowSlots: slots, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// slotsHeld reads the slot array raw: every occupied slot's key by its
// index within its CPU's run.
func slotsHeld(t *testing.T, ft *FlowTable) map[FlowKey][]int {
	t.Helper()
	held := map[FlowKey][]int{}
	var s FlowSlot
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&s)), slotSize)
	for i := 0; i < ft.cpus*ft.perCPU; i++ {
		if _, err := ft.mem.ReadAt(raw, int64(i*slotSize)); err != nil {
			t.Fatal(err)
		}
		if s.Key.Family != 0 {
			held[s.Key] = append(held[s.Key], i%ft.perCPU)
		}
	}
	return held
}

func udpPacket(t *testing.T, v6 bool, src, dst net.IP, sport, dport uint16) []byte {
	if v6 {
		l3 := ipv6(layers.IPProtocolUDP, 0)
		l3.SrcIP, l3.DstIP = src, dst
		return serialize(t, eth(layers.EthernetTypeIPv6), l3, udp(sport, dport), payload(30))
	}
	l3 := ipv4(layers.IPProtocolUDP, 0)
	l3.SrcIP, l3.DstIP = src, dst
	return serialize(t, eth(layers.EthernetTypeIPv4), l3, udp(sport, dport), payload(30))
}

// The agent finds a flow's slot with slotHash, the Go twin of
// tf_slot_hash: every flow the classifier put in a slot must sit where
// the twin says.
func TestSlotHashTwin(t *testing.T) {
	o := loadWithSlots(t, 256)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		v6 := i%2 == 1
		src, dst := make(net.IP, 4), make(net.IP, 4)
		if v6 {
			src, dst = make(net.IP, 16), make(net.IP, 16)
			src[0], dst[0] = 0xfd, 0xfd
		}
		for j := 1; j < len(src); j++ {
			src[j], dst[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		run(t, o.TestClassifier(i%3 != 0), udpPacket(t, v6, src, dst, uint16(rng.Uint32()), uint16(rng.Uint32())))
	}
	held := slotsHeld(t, o.Flows())
	if len(held) < 100 {
		t.Fatalf("only %d of 300 flows in 256 slots per CPU", len(held))
	}
	later := 0
	for k, idx := range held {
		for _, i := range idx {
			want := int(slotHash(&k)) & 255
			if i^want >= slotWays {
				t.Errorf("flow %+v in slot %d, the Go twin says %d or another of its group of %d", k, i, want, slotWays)
			} else if i != want {
				later++
			}
		}
	}
	if later == 0 {
		t.Error("no flow took another slot of its group")
	}
}

// With two slots per CPU (a group of two), a second flow whose own slot
// is taken takes the other instead of going to the map, a third goes to the map,
// and freeing each finds it where it is.
func TestSecondSlotOfThePair(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, 2)
	ft := o.Flows()
	run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	// Two more flows whose own slot is the first one's.
	first := keyOfPort(t, o, 1000)
	ports := []uint16{1000}
	for p := uint16(1001); len(ports) < 3; p++ {
		k := first
		k.LocalPort = p
		if slotHash(&k)&1 == slotHash(&first)&1 {
			ports = append(ports, p)
			run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, p, 2000))
		}
	}
	assertFlows(t, o, map[uint16]uint64{ports[0]: 1, ports[1]: 1, ports[2]: 1})
	held := slotsHeld(t, ft)
	if len(held) != 2 || held[first] == nil || held[keyOfPort(t, o, ports[1])] == nil {
		t.Fatalf("slots hold %v, want the first two flows", held)
	}
	inMap := 0
	for it := ft.Map().Iterate(); it.Next(new(FlowKey), new([]FlowStats)); {
		inMap++
	}
	if inMap != 1 {
		t.Fatalf("%d flows in the map, want the third", inMap)
	}
	if err := ft.Delete([]FlowKey{first, keyOfPort(t, o, ports[1])}); err != nil {
		t.Fatal(err)
	}
	if held := slotsHeld(t, ft); len(held) != 0 {
		t.Fatalf("slots still hold %v after the flows were deleted", held)
	}
	assertFlows(t, o, map[uint16]uint64{ports[2]: 1})
}

// With one slot per CPU the second flow finds it taken and goes to the
// map; when the agent frees the slot, the next packet of that flow takes
// it, and the flow's two pieces are read back as one.
func TestSlotTakenFallsBackToMap(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, 1)
	first := udpPacket(t, false, ip4A, ip4B, 1000, 2000)
	second := udpPacket(t, false, ip4A, ip4B, 1001, 2000)
	run(t, o.TestClassifier(true), first)
	for range 3 {
		run(t, o.TestClassifier(true), second)
	}
	assertFlows(t, o, map[uint16]uint64{1000: 1, 1001: 3})
	if n := o.Flows().Map().Iterate(); !n.Next(new(FlowKey), new([]FlowStats)) {
		t.Fatal("the flow without a slot is not in the map")
	}

	keyFirst := keyOfPort(t, o, 1000)
	if err := o.Flows().Delete([]FlowKey{keyFirst}); err != nil {
		t.Fatal(err)
	}
	assertFlows(t, o, map[uint16]uint64{1001: 3})
	for range 2 {
		run(t, o.TestClassifier(true), second)
	}
	assertFlows(t, o, map[uint16]uint64{1001: 5})
	held := slotsHeld(t, o.Flows())
	if len(held) != 1 || held[keyOfPort(t, o, 1001)] == nil {
		t.Errorf("slots hold %v, want the second flow, which took the freed slot", held)
	}
	c := counters(t, o)
	if c[contract.CntFlowMapFull] != 0 {
		t.Errorf("flow_map_full = %d", c[contract.CntFlowMapFull])
	}
}

// A slot freed by the agent and taken by a new flow counts only the new
// flow: nothing of the old one's counters or owner shows through.
func TestFreedSlotStartsClean(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, 1)
	old := udpPacket(t, false, ip4A, ip4B, 1000, 2000)
	for range 4 {
		run(t, o.TestClassifier(true), old)
	}
	if err := o.Flows().Delete([]FlowKey{keyOfPort(t, o, 1000)}); err != nil {
		t.Fatal(err)
	}
	run(t, o.TestClassifier(false), udpPacket(t, false, ip4B, ip4A, 2000, 1002))
	flows, err := o.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		t.Fatalf("%d flows, want the new one only", len(flows))
	}
	for k, v := range flows {
		if k.LocalPort != 1002 || v.Dir[0].Packets != 0 || v.Dir[1].Packets != 1 || v.Dir[1].Bytes != 58 {
			t.Errorf("flow %+v: %+v", k, v)
		}
	}
}

func keyOfPort(t *testing.T, o *Objects, port uint16) FlowKey {
	t.Helper()
	flows, err := o.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	for k := range flows {
		if k.LocalPort == port {
			return k
		}
	}
	t.Fatalf("no flow from port %d", port)
	return FlowKey{}
}

// assertFlows checks that exactly these local ports have flows, each with
// this many packets sent.
func assertFlows(t *testing.T, o *Objects, sent map[uint16]uint64) {
	t.Helper()
	flows, err := o.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != len(sent) {
		t.Errorf("%d flows, want %d", len(flows), len(sent))
	}
	for k, v := range flows {
		if want, ok := sent[k.LocalPort]; !ok || v.Dir[0].Packets != want {
			t.Errorf("flow from port %d: %d packets sent, want %d", k.LocalPort, v.Dir[0].Packets, want)
		}
	}
}

// The flow map is read in batches: more entries than one batch holds come
// back each once, with every CPU's value, and a second read (reusing the
// buffers) sees the same.
func TestReadsTheFlowMapInBatches(t *testing.T) {
	o := loadWithSlots(t, -1)
	ft := o.Flows()
	want := map[FlowKey]uint64{}
	for i := range 3*overflowBatch + 7 {
		k := FlowKey{Family: 4, Protocol: unix.IPPROTO_UDP, LocalPort: uint16(1000 + i), PeerPort: 9, Netns: 1}
		vals := make([]FlowStats, ft.cpus)
		for cpu := range vals {
			vals[cpu].Dir[0].Packets = uint64(i + cpu)
		}
		if err := ft.Map().Put(k, vals); err != nil {
			t.Fatal(err)
		}
		want[k] = uint64(ft.cpus*i + ft.cpus*(ft.cpus-1)/2)
	}
	for range 2 {
		got := map[FlowKey]uint64{}
		err := ft.Read(func(k FlowKey, pieces []FlowStats) {
			if _, dup := got[k]; dup || len(pieces) != ft.cpus {
				t.Errorf("flow %d: read again or with %d pieces (want %d)", k.LocalPort, len(pieces), ft.cpus)
			}
			for _, p := range pieces {
				got[k] += p.Dir[0].Packets
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("read %d flows, want %d", len(got), len(want))
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("flow %d: %d packets, want %d", k.LocalPort, got[k], n)
			}
		}
	}
}

// A flow read from the map that claims a freed slot while Read runs is
// handed out once, from the map; the next Read hands out both pieces as
// one. (Handing it out twice in one Read would make its counters seem to
// fall back to what the slot alone holds.)
func TestSlotClaimedDuringReadWaitsForTheNextRead(t *testing.T) {
	onOneCPU(t)
	o := loadWithSlots(t, 1)
	ft := o.Flows()
	run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	late := udpPacket(t, false, ip4A, ip4B, 1001, 2000)
	for range 3 {
		run(t, o.TestClassifier(true), late) // the slot is taken: to the map
	}
	if err := ft.Delete([]FlowKey{keyOfPort(t, o, 1000)}); err != nil {
		t.Fatal(err)
	}
	read := func(during func()) map[uint16][]uint64 {
		got := map[uint16][]uint64{}
		err := ft.Read(func(k FlowKey, pieces []FlowStats) {
			got[k.LocalPort] = append(got[k.LocalPort], MergeCPUs(pieces).Dir[0].Packets)
			if during != nil {
				during()
				during = nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// The flow's next packets come while the first Read runs: the first
	// claims the freed slot.
	got := read(func() {
		for range 2 {
			run(t, o.TestClassifier(true), late)
		}
	})
	if len(got) != 1 || len(got[1001]) != 1 || got[1001][0] != 3 {
		t.Fatalf("first read handed out %v, want the flow once with the map's 3 packets", got)
	}
	if held := slotsHeld(t, ft); len(held) != 1 {
		t.Fatalf("slots hold %v, want the flow", held)
	}
	if got := read(nil); len(got) != 1 || len(got[1001]) != 1 || got[1001][0] != 5 {
		t.Fatalf("second read handed out %v, want the flow once with its 5 packets", got)
	}
}

// A flow may hold its own slot on one CPU and another slot of its group
// on another: its pieces are handed out together, once.
func TestPiecesInBothSlotsOfThePair(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	onOneCPU(t)
	o := loadWithSlots(t, 2)
	run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	first := keyOfPort(t, o, 1000)
	port := uint16(1001)
	for ; ; port++ { // a flow whose own slot is the first one's
		k := first
		k.LocalPort = port
		if slotHash(&k)&1 == slotHash(&first)&1 {
			break
		}
	}
	pkt := udpPacket(t, false, ip4A, ip4B, port, 2000)
	run(t, o.TestClassifier(true), pkt) // CPU 0: the other slot of the group
	onCPU(t, 1)
	for range 2 {
		run(t, o.TestClassifier(true), pkt) // CPU 1: its own slot
	}
	got := map[uint16][]uint64{}
	err := o.Flows().Read(func(k FlowKey, pieces []FlowStats) {
		got[k.LocalPort] = append(got[k.LocalPort], MergeCPUs(pieces).Dir[0].Packets)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[port]) != 1 || got[port][0] != 3 {
		t.Fatalf("read %v, want flow %d once with 3 packets", got, port)
	}
}

// A flow held by a slot and the map waits in the arena with the CPUs that
// counted it in the map only: with 10k such flows, every CPU's zero value
// made the arena CPUs x 144 bytes a flow. Read still hands out its whole
// count, once.
func TestHeldFlowKeepsOnlyCountingCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	onOneCPU(t)
	o := loadWithSlots(t, 4)
	ft := o.Flows()
	for range 2 {
		run(t, o.TestClassifier(true), udpPacket(t, false, ip4A, ip4B, 1000, 2000))
	}
	k := keyOfPort(t, o, 1000)
	vals := make([]FlowStats, ft.cpus)
	vals[1].Dir[0].Packets, vals[1].Dir[0].Bytes = 3, 300
	if err := ft.Map().Put(k, vals); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		calls := 0
		err := ft.Read(func(got FlowKey, pieces []FlowStats) {
			calls++
			if got != k || len(pieces) != 2 || MergeCPUs(pieces).Dir[0].Packets != 5 {
				t.Errorf("flow %d: %d pieces, %d packets (want the slot's and CPU 1's: 2 pieces, 5 packets)",
					got.LocalPort, len(pieces), MergeCPUs(pieces).Dir[0].Packets)
			}
		})
		if err != nil || calls != 1 {
			t.Fatalf("read: %v, %d flows (want 1)", err, calls)
		}
	}
}
