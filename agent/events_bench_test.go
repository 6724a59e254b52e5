package agent

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/flow"
	"github.com/teamsflow/teamsflow/agent/kernel"
	"github.com/teamsflow/teamsflow/agent/proc"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// A socket's life as the ring buffer reports it (open, owner, TCP
// established, close), decoded and applied as the event reader does, for
// a process the cache already knows (this test process).
func BenchmarkHandleSocketEvents(b *testing.B) {
	a := &Agent{log: zerolog.Nop(), table: flow.NewTable(), procs: proc.NewCache(5 * time.Minute), clock: NewClock()}
	self, ok := a.procs.LookupPID(uint32(os.Getpid()))
	if !ok {
		b.Fatal("this process is not in /proc")
	}
	var records [][]byte
	for _, typ := range []contract.EventType{contract.EvSockOpen, contract.EvSockOwner, contract.EvTCPEstab, contract.EvSockClose} {
		ev := bpf.SockEvent{Type: uint32(typ), Family: 2, Protocol: 6, TsNs: 5_000_000_000, NetnsCookie: 1, LocalPort: 40000, PeerPort: 443}
		ev.Owner.Tgid, ev.Owner.Pid, ev.Owner.StartNs = self.PID, self.PID, self.StartTicks*10_000_000
		copy(ev.LocalAddr[:], []byte{10, 99, 0, 2})
		copy(ev.PeerAddr[:], []byte{52, 113, 194, 132})
		var buf bytes.Buffer
		if err := binary.Write(&buf, binary.NativeEndian, &ev); err != nil {
			b.Fatal(err)
		}
		records = append(records, buf.Bytes())
	}
	b.ReportAllocs()
	cookie := uint64(0)
	for b.Loop() {
		cookie++
		for _, raw := range records {
			ev, err := kernel.Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			ev.(*bpf.SockEvent).Cookie = cookie
			a.handleEvent(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/event")
}
