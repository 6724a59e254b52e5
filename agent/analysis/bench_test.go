package analysis

import (
	"net/netip"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/observe"
)

// benchSnapshots makes n flows (a quarter of them RTP media of a Teams
// process, the rest TLS and UDP of other processes) over several seconds.
func benchSnapshots(n, seconds int) []observe.Snapshot {
	var out []observe.Snapshot
	for s := 1; s <= seconds; s++ {
		out = append(out, benchSnapshot(n, s))
	}
	return out
}

var (
	benchTeams = ownerOf(proc(1, "ms-teams"))
	benchOther = ownerOf(proc(2, "firefox"))
)

func benchSnapshot(n, s int) observe.Snapshot {
	teamsOwner, other := benchTeams, benchOther
	{
		now := t0.Add(time.Duration(s) * time.Second)
		snap := observe.Snapshot{Time: now}
		for i := range n {
			id := observe.FlowID{Transport: observe.UDP,
				Local: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(20000+i)),
				Peer:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{52, 112, byte(i >> 8), byte(i)}), 3478)}
			f := observe.Flow{ID: id, Owner: other, Protos: observe.ProtoTLS,
				Sent: observe.Counters{Packets: uint64(10 * s), Bytes: uint64(10000 * s), First: t0, Last: now},
				Recv: observe.Counters{Packets: uint64(10 * s), Bytes: uint64(10000 * s), First: t0, Last: now}}
			if i%4 == 0 {
				f.Owner, f.Protos = teamsOwner, observe.ProtoSTUN|observe.ProtoRTP
				snap.RTP = append(snap.RTP, observe.RTPStream{Flow: id, Sent: true, SSRC: uint32(i), PayloadType: 111,
					Packets: uint64(50 * s), PayloadBytes: uint64(5000 * s), PayloadSquares: uint64(500000 * s), First: t0, Last: now,
					SeqSteps: uint64(50*s) - 1, Frames: uint64(50*s) - 1, TSAdvance: uint64(48000 * s),
					Expected: uint64(50 * s)})
			} else if i%4 == 1 {
				id.Transport = observe.TCP
				f.ID = id
			}
			snap.Flows = append(snap.Flows, f)
		}
		return snap
	}
}

func BenchmarkObserve1000Flows(b *testing.B) {
	p := New(Config{})
	for s := 1; s <= 10; s++ { // warm: every stream known and labelled
		p.Observe(benchSnapshot(1000, s))
	}
	b.ReportAllocs()
	sec := 11
	for b.Loop() {
		b.StopTimer()
		snap := benchSnapshot(1000, sec)
		sec++
		b.StartTimer()
		p.Observe(snap)
	}
	if streams := len(p.Records(true)); streams < 1250 {
		b.Fatalf("%d streams listed, want 1250", streams)
	}
}

func BenchmarkRecords1000Flows(b *testing.B) {
	p := New(Config{})
	for _, s := range benchSnapshots(1000, 5) {
		p.Observe(s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if rs := p.Records(true); len(rs) == 0 {
			b.Fatal("no records")
		}
	}
}
