//go:build linux

package packet

import (
	"math/rand"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// TestSequenceSameAsKernel runs sources whose sequence numbers jump,
// restart, wrap, arrive late, twice or at random through the TC program
// and the twin, and requires the same RFC 3550 A.1 state (and every other
// counter) for each: the kernel's loss and duplicates are the twin's.
func TestSequenceSameAsKernel(t *testing.T) {
	objs, netns := twinObjects(t, 1024)
	rng := rand.New(rand.NewSource(2323))
	goFlows := NewFlows()
	prog := objs.TestClassifier(false)
	n := 0
	for src := range 60 {
		for _, seq := range seqScenario(rng) {
			f := frame(src%2 == 1, protoUDP, 3480, uint16(50000+src), 0, plainRTP(seq, uint32(seq)*960))
			if _, err := prog.Run(&ebpf.RunOptions{Data: f}); err != nil {
				t.Fatal(err)
			}
			goFlows.Add(f, true, 0, false, netns, uint64(n))
			n++
		}
	}
	compareRTP(t, objs, goFlows)
	var dups, held uint64
	for k, s := range goFlows.RTP {
		dups += uint64(s.Duplicates)
		if s.BadSeq != noBadSeq {
			held++
		}
		if o := observe.RTPOf(k, *s, func(uint64) time.Time { return time.Time{} }); o.Lost < 0 || uint64(o.Lost) > o.Expected {
			t.Errorf("source of port %d: lost %d of %d expected", k.Flow.LocalPort, o.Lost, o.Expected)
		}
	}
	t.Logf("%d packets, %d sources: %d duplicates, %d sources with a jump held", n, len(goFlows.RTP), dups, held)
	if dups == 0 || held == 0 {
		t.Errorf("the scenarios missed what they test: %d duplicates, %d jumps", dups, held)
	}
}

// seqScenario is one source's sequence numbers: in order with losses,
// then random steps among jumps, restarts, late packets, duplicates and
// random numbers.
func seqScenario(rng *rand.Rand) []uint16 {
	seq := uint16(rng.Intn(1 << 16))
	if rng.Intn(3) == 0 {
		seq = 65535 - uint16(rng.Intn(200)) // wraps soon
	}
	var out []uint16
	for range 200 + rng.Intn(200) {
		switch r := rng.Intn(100); {
		case r < 70:
			seq++
		case r < 78:
			seq += uint16(2 + rng.Intn(40)) // a loss
		case r < 82:
			seq += uint16(3000 + rng.Intn(60000)) // a jump; restart if the next follow
		case r < 88 && len(out) > 0:
			out = append(out, out[len(out)-1-rng.Intn(min(len(out), 120))]) // a duplicate or late packet
			continue
		case r < 92:
			out = append(out, uint16(rng.Intn(1<<16))) // a stray
			continue
		default:
			seq -= uint16(rng.Intn(200)) // backwards
		}
		out = append(out, seq)
	}
	return out
}
