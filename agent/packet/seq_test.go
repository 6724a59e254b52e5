package packet

import (
	"encoding/binary"
	"math/rand"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// A received RTP packet of one source: its sequence number, timestamp and
// arrival (ns).
type rtpArrival struct {
	seq uint16
	ts  uint32
	at  uint64
}

// plainRTP is a 12-byte RTP header (Opus, SSRC 0x5EC) and 80 bytes.
func plainRTP(seq uint16, ts uint32) []byte { return ptRTP(seq, ts, 111) }

// ptRTP is plainRTP with payload type pt.
func ptRTP(seq uint16, ts uint32, pt byte) []byte { return pkt.RTP(0x5EC, pt, seq, ts, false, 80) }

// receive runs the packets through the twin as received and returns the
// source's counters as the pipeline sees them.
func receive(t *testing.T, pkts []rtpArrival) (contract.RTPStats, observe.RTPStream) {
	t.Helper()
	return receiveClock(t, pkts, 111)
}

// receiveClock is receive with payload type pt, whose clock jitter uses.
func receiveClock(t *testing.T, pkts []rtpArrival, pt byte) (contract.RTPStats, observe.RTPStream) {
	t.Helper()
	f := NewFlows()
	for _, p := range pkts {
		f.Add(frame(false, protoUDP, 3480, 50020, 0, ptRTP(p.seq, p.ts, pt)), true, 0, false, 1, p.at)
	}
	if len(f.RTP) != 1 {
		t.Fatalf("%d RTP sources, want 1", len(f.RTP))
	}
	for k, s := range f.RTP {
		return *s, observe.RTPOf(k, *s, func(ns uint64) time.Time { return time.Unix(0, int64(ns)) })
	}
	panic("unreachable")
}

// inOrder is n packets from seq on, 20 ms of 48 kHz audio apart.
func inOrder(seq uint16, n int) []rtpArrival {
	out := make([]rtpArrival, n)
	for i := range out {
		out[i] = rtpArrival{seq: seq + uint16(i), ts: uint32(i) * 960, at: uint64(i+1) * 20e6}
	}
	return out
}

// TestSequenceRFC3550: loss, duplicates and the valid source by RFC 3550
// A.1 over the cases that broke the simplified count: each case says what
// A.1 must make of it.
func TestSequenceRFC3550(t *testing.T) {
	every10thLost := inOrder(1000, 1000)
	kept := every10thLost[:0]
	for i, p := range every10thLost {
		if i%10 != 5 {
			kept = append(kept, p)
		}
	}
	twice := []rtpArrival{}
	for _, p := range inOrder(7, 500) {
		twice = append(twice, p, p)
	}
	// From the fifth on: A.1 needs two packets in sequence to end a new
	// source's probation, and a source swapped from its first packet on
	// never shows them.
	swapped := inOrder(40000, 400)
	for i := 5; i+1 < len(swapped); i += 2 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	restart := append(inOrder(100, 100), inOrder(30000, 100)...)
	backwards := append(inOrder(5000, 100), inOrder(4850, 100)...) // 150 behind: a restart, not 150 late
	cases := []struct {
		name                   string
		pkts                   []rtpArrival
		expected, lost, dups   uint64
		maxSeqAbove64K, probat bool
	}{
		// The first packet is on probation: neither expected nor received.
		{name: "every 10th lost", pkts: kept, expected: 999, lost: 100},
		{name: "every packet twice", pkts: twice, expected: 499, lost: 0, dups: 499},
		{name: "pairs swapped", pkts: swapped, expected: 399, lost: 0},
		{name: "sequence wraps", pkts: inOrder(65000, 2000), expected: 1999, lost: 0, maxSeqAbove64K: true},
		// Two sequential packets after a jump: a restart, which is no loss,
		// and the counts go on (the jump's first packet is not counted).
		{name: "restart ahead", pkts: restart, expected: 198, lost: 0},
		{name: "restart behind", pkts: backwards, expected: 198, lost: 0},
		{name: "one packet only", pkts: inOrder(9, 1), expected: 0, lost: 0, probat: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, o := receive(t, c.pkts)
			if o.Expected != c.expected || uint64(o.Lost) != c.lost || o.Duplicates != c.dups {
				t.Errorf("expected %d lost %d duplicates %d, want %d %d %d (%+v)",
					o.Expected, o.Lost, o.Duplicates, c.expected, c.lost, c.dups, st)
			}
			if o.Packets != uint64(len(c.pkts)) {
				t.Errorf("%d packets, want every one of %d", o.Packets, len(c.pkts))
			}
			if (st.MaxSeq > 0xFFFF) != c.maxSeqAbove64K || (st.Probation != 0) != c.probat {
				t.Errorf("max_seq %#x probation %d", st.MaxSeq, st.Probation)
			}
		})
	}
}

// TestRandomSequenceNumbers: a peer that sends random sequence numbers (or
// random bytes that look like RTP) never makes the loss leave 0-100%, nor
// millions of packets lost: last time, 4.6 M "lost" of 587 received.
func TestRandomSequenceNumbers(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	for _, lead := range []int{0, 50} { // alone, and after a valid start
		pkts := inOrder(100, lead)
		for i := range 587 {
			pkts = append(pkts, rtpArrival{seq: uint16(rng.Intn(1 << 16)), ts: rng.Uint32(), at: uint64(lead+i+1) * 20e6})
		}
		_, o := receive(t, pkts)
		t.Logf("after %d in order: %d packets, expected %d, lost %d, duplicates %d", lead, o.Packets, o.Expected, o.Lost, o.Duplicates)
		if o.Lost < 0 || uint64(o.Lost) > o.Expected {
			t.Errorf("lost %d of %d expected: outside 0-100%%", o.Lost, o.Expected)
		}
		// A.1 accepts a step ahead below MAX_DROPOUT (3000) as in order:
		// about one random number in 22 is one, so loss grows by at most
		// 3000 a packet, and then only for that one in 22.
		if o.Lost > int64(maxDropout*len(pkts)/10) {
			t.Errorf("lost %d of %d packets", o.Lost, len(pkts))
		}
	}
}

// FuzzSequence: for any order of sequence numbers, loss stays within
// 0..expected, duplicates and counted packets never exceed those received,
// and the twin never panics.
func FuzzSequence(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 2, 0, 4, 0, 3, 0x80, 0, 0x80, 1})
	f.Add([]byte{0xFF, 0xFE, 0xFF, 0xFF, 0, 0, 0, 1, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pkts []rtpArrival
		for i := 0; i+1 < len(b); i += 2 {
			seq := binary.BigEndian.Uint16(b[i:])
			pkts = append(pkts, rtpArrival{seq: seq, ts: uint32(seq) * 960, at: uint64(i+1) * 20e6})
		}
		if len(pkts) == 0 {
			return
		}
		st, o := receive(t, pkts)
		if o.Lost < 0 || uint64(o.Lost) > o.Expected {
			t.Fatalf("lost %d of %d expected (%+v)", o.Lost, o.Expected, st)
		}
		if uint64(st.Received)+uint64(st.Duplicates) > st.Packets {
			t.Fatalf("%d counted and %d duplicates of %d packets", st.Received, st.Duplicates, st.Packets)
		}
	})
}
