package flow

import (
	"fmt"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/bpf"
)

// benchFlows is one poll's worth of kernel flow entries on a busy host: a
// quarter carry their owner (the TC program found it in socket storage),
// a quarter are known by cookie from socket events, a quarter by address
// only (TCP established, backfill), and the rest have no owner at all.
type benchFlows struct {
	keys  []bpf.FlowKey
	stats []bpf.FlowStats
}

func newBenchFlows(n int) benchFlows {
	var bf benchFlows
	for i := range n {
		local := fmt.Sprintf("10.99.%d.%d:%d", i>>16&0xff, 2+i>>8&0xff, 20000+i%40000)
		peer := fmt.Sprintf("52.112.%d.%d:3478", i>>8&0xff, i&0xff)
		proto := uint8(17)
		if i%3 == 0 {
			proto = 6
		}
		k := key(local, peer, proto)
		var o bpf.Owner
		cookie := uint64(1000 + i)
		switch i % 4 {
		case 0:
			o = owner(uint32(3000+i%50), "ms-teams")
		case 2:
			cookie = 0 // the TC program did not see the socket
		}
		bf.keys = append(bf.keys, k)
		bf.stats = append(bf.stats, stats(uint64(1200*i), uint64(900*i), cookie, o))
	}
	return bf
}

// tableWith fills a table with bf and the socket events and backfill
// that name the owners of the flows the kernel entries lack.
func tableWith(bf benchFlows) *Table {
	tb := NewTable()
	for i, k := range bf.keys {
		cookie := uint64(1000 + i)
		switch i % 4 {
		case 1:
			tb.SocketOwner(cookie, owner(uint32(4000+i%50), "chrome"))
		case 2:
			l, p := Addrs(k)
			tb.SocketTuple(k.Netns, k.Protocol, l, p, cookie)
			tb.Backfill(cookie, Owner{TGID: uint32(5000 + i%50), Comm: "teams-for-linux"})
		}
		tb.Update(k, bf.stats[i])
	}
	return tb
}

var benchSizes = []int{1000, 10000}

// One poll: every kernel entry is handed to the table.
func BenchmarkTableUpdate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			bf := newBenchFlows(n)
			tb := tableWith(bf)
			b.ReportAllocs()
			for b.Loop() {
				for i, k := range bf.keys {
					tb.Update(k, bf.stats[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
		})
	}
}

// One snapshot: every flow joined with its socket's owner.
func BenchmarkTableSnapshot(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tb := tableWith(newBenchFlows(n))
			flows := tb.Snapshot()
			if owned := countOwned(flows); owned != n*3/4 {
				b.Fatalf("%d of %d flows have an owner, want %d", owned, n, n*3/4)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = tb.Snapshot()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
		})
	}
}

// One expiry pass over a table where nothing is due: the cost every
// snapshot pays.
func BenchmarkTableExpire(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tb := tableWith(newBenchFlows(n))
			b.ReportAllocs()
			for b.Loop() {
				if gone := tb.Expire(5, time.Unix(0, 0), time.Unix(0, 0)); len(gone) != 0 {
					b.Fatalf("%d flows expired", len(gone))
				}
			}
		})
	}
}

func countOwned(flows []Flow) int {
	n := 0
	for _, f := range flows {
		if f.Owner.Known() {
			n++
		}
	}
	return n
}
