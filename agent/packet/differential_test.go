package packet

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/teamsflow/teamsflow/agent/sockets"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// TestSameAsKernel runs the same packets through the TC program
// (prog.Run) and through Flows, and requires identical flows and counters.
func TestSameAsKernel(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.OnOneCPU(t)
	objs, err := bpf.Load(bpf.Config{FlowMapEntries: 8192, TestClassifiers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	netns, err := sockets.NetnsCookie()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	goFlows := NewFlows()
	for i := 0; i < 3000; i++ {
		pkt := randomFrame(rng)
		egress := rng.Intn(2) == 0
		if _, err := objs.TestClassifier(egress).Run(&ebpf.RunOptions{Data: pkt}); err != nil {
			continue // the kernel's test run refuses some frames outright
		}
		goFlows.Add(pkt, true, 0, egress, netns, 1)
	}
	compare(t, objs, goFlows)
}

func compare(t *testing.T, objs *bpf.Objects, want *Flows) {
	t.Helper()
	got, err := objs.Flows().Merged()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Stats) {
		t.Errorf("kernel has %d flows, Go parser %d", len(got), len(want.Stats))
	}
	for k, w := range want.Stats {
		g, ok := got[k]
		if !ok {
			t.Errorf("flow %+v only in the Go parser", k)
			continue
		}
		for d := range 2 {
			gd, wd := g.Dir[d], w.Dir[d]
			if gd.Bytes != wd.Bytes || gd.Packets != wd.Packets || gd.TcpFlags != wd.TcpFlags || gd.Dscp != wd.Dscp {
				t.Errorf("flow %+v dir %d: kernel %+v, Go %+v", k, d, gd, wd)
			}
		}
		if g.Protos != w.Protos || g.StunType != w.StunType {
			t.Errorf("flow %+v: kernel protocols %#x type %#x, Go %#x type %#x", k, g.Protos, g.StunType, w.Protos, w.StunType)
		}
	}
	c, err := objs.ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []contract.Counter{contract.CntParseShort, contract.CntIPFragment, contract.CntRTPMapFull, contract.CntSamplesRateLimited} {
		if c[i] != want.Counters[i] {
			t.Errorf("counter %s: kernel %d, Go %d", contract.CounterNames[i], c[i], want.Counters[i])
		}
	}
}

// randomFrame builds a plausible frame (VLAN tags, IPv4/IPv6 with
// extension headers and fragments, TCP/UDP/other) and then maybe damages
// it: truncation, random bytes, bad lengths.
func randomFrame(rng *rand.Rand) []byte {
	f := make([]byte, 12, 256)
	rng.Read(f)
	for n := rng.Intn(3); n > 0; n-- {
		f = binary.BigEndian.AppendUint16(f, pick(rng, ether8021Q, ether8021AD))
		f = append(f, byte(rng.Intn(16)), byte(rng.Intn(256)))
	}
	if rng.Intn(2) == 0 {
		f = binary.BigEndian.AppendUint16(f, pick(rng, etherIPv4, etherIPv4, 0x0806))
		f = appendIPv4(rng, f)
	} else {
		f = binary.BigEndian.AppendUint16(f, etherIPv6)
		f = appendIPv6(rng, f)
	}
	switch rng.Intn(6) {
	case 0:
		f = f[:14+rng.Intn(len(f)-14+1)]
	case 1:
		for i := 0; i < 4; i++ {
			f[14+rng.Intn(len(f)-14)] = byte(rng.Intn(256))
		}
	}
	if len(f) < 14 {
		f = append(f, make([]byte, 14-len(f))...)
	}
	return f
}

func pick(rng *rand.Rand, opts ...uint16) uint16 { return opts[rng.Intn(len(opts))] }

func appendIPv4(rng *rand.Rand, f []byte) []byte {
	proto := []byte{protoTCP, protoUDP, protoUDP, 1}[rng.Intn(4)]
	hdr := make([]byte, 20)
	hdr[0] = 0x45
	hdr[1] = byte(rng.Intn(64)) << 2
	binary.BigEndian.PutUint16(hdr[2:], uint16(20+rng.Intn(1400)))
	if rng.Intn(5) == 0 {
		binary.BigEndian.PutUint16(hdr[6:], uint16(rng.Intn(3))*185|0x2000)
	}
	hdr[9] = proto
	copy(hdr[12:], []byte{10, 0, 0, byte(1 + rng.Intn(3)), 10, 0, 1, byte(1 + rng.Intn(3))})
	return appendL4(rng, append(f, hdr...), proto)
}

func appendIPv6(rng *rand.Rand, f []byte) []byte {
	hdr := make([]byte, 40)
	hdr[0] = 0x60 | byte(rng.Intn(16))
	binary.BigEndian.PutUint16(hdr[4:], uint16(rng.Intn(1400)))
	hdr[8], hdr[23] = 0xfd, byte(1+rng.Intn(3))
	hdr[24], hdr[39] = 0xfd, byte(4+rng.Intn(3))
	proto := []byte{protoTCP, protoUDP, 58}[rng.Intn(3)]
	var exts []byte
	next := proto
	for n := rng.Intn(4); n > 0; n-- {
		typ := []byte{0, 43, 60, 44, 51}[rng.Intn(5)]
		ext := make([]byte, 8)
		ext[0] = next
		if typ == 44 {
			binary.BigEndian.PutUint16(ext[2:], uint16(rng.Intn(2))*1448)
		} else if typ == 51 {
			ext[1] = 0 // (0+2)*4 = 8 bytes
		}
		exts = append(ext, exts...)
		next = typ
	}
	hdr[6] = next
	return appendL4(rng, append(append(f, hdr...), exts...), proto)
}

func appendL4(rng *rand.Rand, f []byte, proto byte) []byte {
	l4 := make([]byte, 8+rng.Intn(40))
	binary.BigEndian.PutUint16(l4, uint16(50000+rng.Intn(4)))
	binary.BigEndian.PutUint16(l4[2:], uint16(3478+rng.Intn(4)))
	if proto == protoTCP && len(l4) >= 20 {
		l4[12] = 0x50
		l4[13] = byte(rng.Intn(64))
	}
	return append(f, l4...)
}
