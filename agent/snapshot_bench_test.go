package agent

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/attach"
	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/bpf"
)

// The user-space half of a snapshot on a busy host, without the kernel:
// the flow table and RTP sources filled as Poll would fill them, owned by
// Teams helper processes whose parent is a live process (this one), so
// that the ancestry walk reads /proc as it does in the field.

const benchBootNow = 10_000 * uint64(time.Second) // boot-clock "now" of the benchmarks

type snapshotBench struct {
	a        *Agent
	now      time.Time
	expiring []bpf.FlowKey // flows due to expire at now, with their RTP sources
}

func newSnapshotBench(b testing.TB, flows, expiring int) *snapshotBench {
	b.Helper()
	a := &Agent{cfg: Config{IdleTimeout: time.Minute}, log: zerolog.Nop(), table: flow.NewTable(),
		procs: proc.NewCache(5 * time.Minute), clock: NewClock(), tc: &attach.Manager{}}
	parent := uint32(os.Getpid())
	for i := range 50 {
		pid := uint32(1_000_000 + i) // beyond pid_max: only the cache knows them
		a.procs.Exec(proc.Info{Key: proc.Key{PID: pid, StartTicks: proc.TicksFromBootNs(benchStartNs(pid))},
			PPID: parent, UID: 1000, Comm: "teams-for-linux", Exe: "/opt/teams-for-linux/teams-for-linux",
			Cmdline: []string{"teams-for-linux", "--type=utility", "--utility-sub-type=network.mojom.NetworkService"}})
	}
	sb := &snapshotBench{a: a, now: a.clock.Wall(benchBootNow)}
	for i := range flows {
		last := benchBootNow - uint64(time.Second)
		k := benchFlowKey(i)
		if i < expiring {
			last = benchBootNow - 2*uint64(time.Minute)
			sb.expiring = append(sb.expiring, k)
		}
		sb.add(i, k, last)
	}
	sb.refill()
	return sb
}

// benchStartNs starts the made-up processes now, after their parent (this
// test process): the ancestry walk refuses a parent younger than its child.
func benchStartNs(pid uint32) uint64 { return benchProcsStartNs + uint64(pid-1_000_000)*1000 }

var benchProcsStartNs = func() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return uint64(ts.Nano())
}()

func benchFlowKey(i int) bpf.FlowKey {
	k := bpf.FlowKey{Protocol: 17, Family: 4, Netns: 4026531840, LocalPort: uint16(20000 + i%40000), PeerPort: 3478}
	copy(k.LocalAddr[:], []byte{10, 99, byte(i >> 16), byte(i >> 8)})
	copy(k.PeerAddr[:], []byte{52, 112, byte(i >> 8), byte(i)})
	if i%3 == 0 {
		k.Protocol, k.PeerPort = 6, 443
	}
	return k
}

// add puts flow i into the table, and for every UDP flow two SSRCs in
// each direction into the RTP sources (a BUNDLEd browser media flow).
func (sb *snapshotBench) add(i int, k bpf.FlowKey, last uint64) {
	pid := uint32(1_000_000 + i%50)
	s := bpf.FlowStats{Cookie: uint64(1 + i)}
	s.Owner.Tgid, s.Owner.Pid, s.Owner.Uid, s.Owner.StartNs = pid, pid, 1000, benchStartNs(pid)
	copy(s.Owner.Comm[:], []int8{'t', 'e', 'a', 'm', 's'})
	for d := range s.Dir {
		s.Dir[d] = bpf.FlowDir{Bytes: 1_000_000, Packets: 1000, FirstNs: last - uint64(time.Minute), Last: last, Dscp: 46}
	}
	sb.a.table.Update(k, s)
	if k.Protocol != 17 {
		return
	}
	for ssrc := range uint32(4) {
		rk := bpf.RTPKey{Flow: k, Ssrc: 0x1000*uint32(i) + ssrc, Egress: uint8(ssrc % 2)}
		sb.a.media.putRTP(rk, bpf.RTPStats{Packets: 3000, PayloadBytes: 300_000, FirstNs: last - uint64(time.Minute),
			LastNs: last, BaseSeq: 100, MaxSeq: 3099, PayloadType: 111})
	}
}

// refill puts the expired flows back, out of the kernel map, as the poll
// before their expiry leaves them.
func (sb *snapshotBench) refill() {
	for i, k := range sb.expiring {
		sb.add(i, k, benchBootNow-2*uint64(time.Minute))
		sb.a.table.Removed(k)
	}
}

// One snapshot: flows and RTP sources into observations, owners with
// their ancestry; "expiring" of the flows (and their RTP sources) went
// idle past the idle timeout and are forgotten.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, expiring := range []int{0, n / 100} {
			b.Run(fmt.Sprintf("flows=%d/expiring=%d", n, expiring), func(b *testing.B) {
				sb := newSnapshotBench(b, n, expiring)
				snap := sb.a.snapshotAt(sb.now)
				if len(snap.Flows) != n-expiring || len(snap.Gone) != expiring || snap.Flows[0].Owner == nil ||
					len(snap.Flows[0].Owner.Ancestors) == 0 {
					b.Fatalf("%d flows, %d gone, first owner %+v: want %d flows, %d gone, owners with ancestors",
						len(snap.Flows), len(snap.Gone), snap.Flows[0].Owner, n-expiring, expiring)
				}
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					sb.refill()
					b.StartTimer()
					snap = sb.a.snapshotAt(sb.now)
				}
				if len(snap.Gone) != expiring {
					b.Fatalf("%d flows gone, want %d", len(snap.Gone), expiring)
				}
			})
		}
	}
}

// A snapshot forgets the RTP sources of the flows it expires, and only
// those; flows of one owner share its description, others get their own.
func TestSnapshotForgetsExpiredFlowsSources(t *testing.T) {
	sb := newSnapshotBench(t, 300, 30)
	snap := sb.a.snapshotAt(sb.now)
	gone := map[observe.FlowID]bool{}
	for _, id := range snap.Gone {
		gone[id] = true
	}
	udp := 0
	for _, f := range snap.Flows {
		if f.ID.Transport == 17 {
			udp++
		}
	}
	for _, r := range snap.RTP {
		if gone[r.Flow] {
			t.Fatalf("RTP source %#x of expired flow %v is still reported", r.SSRC, r.Flow)
		}
	}
	if len(gone) != 30 || len(snap.RTP) != 4*udp {
		t.Errorf("%d flows gone, %d RTP sources for %d UDP flows: want 30 gone, 4 sources each", len(gone), len(snap.RTP), udp)
	}
	byPID := map[uint32]*observe.Owner{}
	for _, f := range snap.Flows {
		if prev := byPID[f.Owner.PID]; prev != nil && prev != f.Owner {
			t.Fatalf("pid %d described twice in one snapshot", f.Owner.PID)
		}
		byPID[f.Owner.PID] = f.Owner
	}
	if len(byPID) != 50 {
		t.Errorf("%d owners, want 50", len(byPID))
	}
}
