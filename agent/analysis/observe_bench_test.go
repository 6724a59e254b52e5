package analysis

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/teamsflow/teamsflow/agent/record"
)

// Observe at 1k and 10k flows (a quarter of them Teams media with an RTP
// source), in steady state and with 1% of the flows reported gone by the
// source at every snapshot (idle expiry on a busy host).
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, gonePct := range []int{0, 1} {
			b.Run(fmt.Sprintf("flows=%d/gone=%d%%", n, gonePct), func(b *testing.B) {
				benchObserve(b, n, n*gonePct/100)
			})
		}
	}
}

func benchObserve(b *testing.B, n, gone int) {
	p := New(Config{})
	for s := 1; s <= 5; s++ { // warm: every stream known and labelled
		p.Observe(benchSnapshot(n, s))
	}
	if streams := len(p.Records(true)); streams < n {
		b.Fatalf("%d streams listed after warming, want at least %d", streams, n)
	}
	b.ReportAllocs()
	sec := 6
	for b.Loop() {
		b.StopTimer()
		snap := benchSnapshot(n, sec)
		// The gone flows rotate so that each snapshot ends live streams.
		for i := range gone {
			snap.Gone = append(snap.Gone, snap.Flows[(sec*gone+i)%n].ID)
		}
		sec++
		b.StartTimer()
		p.Observe(snap)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
}

// permute moves every record to its sorted place, whatever the cycles of
// the permutation.
func TestPermuteFollowsEveryCycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		order := rng.Perm(n)
		rs := make([]record.Record, n)
		for i := range rs {
			rs[i].StreamID = fmt.Sprint(i)
		}
		want := make([]string, n)
		for i, o := range order {
			want[i] = rs[o].StreamID
		}
		permute(rs, order)
		for i := range rs {
			if rs[i].StreamID != want[i] || order[i] != i {
				t.Fatalf("n=%d: position %d holds %s, want %s", n, i, rs[i].StreamID, want[i])
			}
		}
	}
}
