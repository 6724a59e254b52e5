package bpf

import (
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

// TestRTPPathCost measures what the classifier costs per RTP packet on
// real traffic, with the kernel's run-time statistics (BPF_STATS_RUN_TIME,
// as make bench reads them): a sender in one namespace of a veth pair
// sends audio-like RTP (one SSRC, sequence numbers in order, a timestamp
// per packet) and video-like RTP (three packets per timestamp) to the
// other, the classifier attached at both ends. A timing, not a check: it
// runs only with TEAMSFLOW_RTP_COST=1, and prints ns per program run.
func TestRTPPathCost(t *testing.T) {
	if os.Getenv("TEAMSFLOW_RTP_COST") != "1" {
		t.Skip("a timing: set TEAMSFLOW_RTP_COST=1 to run it")
	}
	p := testenv.NewPair(t)
	o := loadForTest(t)
	attachBothEnds(t, o, p)
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	client := boundUDP(t, p.Client, p.ClientIP4, 40010)
	to := &net.UDPAddr{IP: net.ParseIP(p.ServerIP4), Port: 5010}
	boundUDP(t, p.Server, p.ServerIP4, 5010)
	const n = 200000
	pkt := make([]byte, 172)
	pkt[0], pkt[1] = 0x80, 111
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	send := func(n, perFrame int) {
		for i := range n {
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i/perFrame)*960)
			if _, err := client.WriteToUDP(pkt, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(1000, 1) // the flows' first packets take the slow path: not measured
	prog := o.Classifier(true)
	for _, c := range []struct {
		name     string
		perFrame int
	}{{"audio", 1}, {"video", 3}} {
		before := runStats(t, prog)
		start := time.Now()
		send(n, c.perFrame)
		after := runStats(t, prog)
		runs := after[1] - before[1]
		t.Logf("%s RTP: %d runs, %.1f ns per run (%v)", c.name, runs,
			float64(after[0]-before[0])/float64(runs), time.Since(start).Round(time.Millisecond))
	}
}

// runStats is a program's total run time (ns) and run count.
func runStats(t *testing.T, p *ebpf.Program) [2]uint64 {
	t.Helper()
	st, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return [2]uint64{uint64(st.Runtime), st.RunCount}
}
