package agent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/bpf"
)

// crowdMember is one process of the crowd and the local ports it used.
type crowdMember struct {
	peer  *testenv.Peer
	ports []uint16
}

// startCrowd starts procs processes per name, each about to open flows
// UDP flows to addr with count datagrams of size bytes; they wait for Go.
func startCrowd(t *testing.T, p *testenv.Pair, names []string, procs int, addr string, flows, count, size int) []*crowdMember {
	t.Helper()
	var crowd []*crowdMember
	for _, name := range names {
		for range procs {
			peer := testenv.StartPeer(t, p.Client, name, "fault-udp-flows", addr, fmt.Sprint(flows), fmt.Sprint(count), fmt.Sprint(size))
			crowd = append(crowd, &crowdMember{peer: peer})
		}
	}
	return crowd
}

// collectPorts reads the ports each member printed, then lets every
// member exit: each holds its sockets until all ports are read, so no two
// members' flows share a port.
func collectPorts(t *testing.T, crowd []*crowdMember, flows int) map[uint16]*crowdMember {
	t.Helper()
	byPort := map[uint16]*crowdMember{}
	for _, m := range crowd {
		for range flows {
			line := m.peer.Expect(t, "port ")
			n, err := strconv.Atoi(strings.TrimPrefix(line, "port "))
			if err != nil {
				t.Fatal(err)
			}
			if byPort[uint16(n)] != nil {
				t.Fatalf("port %d used twice though every socket was open", n)
			}
			m.ports = append(m.ports, uint16(n))
			byPort[uint16(n)] = m
		}
	}
	for _, m := range crowd {
		m.peer.Expect(t, "done")
		m.peer.Go()
		m.peer.Wait(t)
	}
	return byPort
}

// With a flow map of 16 entries and a ring buffer of one page, a crowd of
// processes makes more flows than fit while a socket storm floods the
// events: the losses are counted and reported, and every flow that has an
// owner has the process that really made it, never a neighbour's.
func TestTinyMapsNeverMisattribute(t *testing.T) {
	const flows, count, size = 6, 5, 200
	p := testenv.NewPair(t)
	sink := fmt.Sprintf("%s:7300", p.ServerIP4)
	udpSink(t, p.Server, sink)
	a, logs := startAgentLogged(t, Config{Netns: []string{p.Client.Path()},
		Maps: bpf.Config{FlowMapEntries: 16, FlowSlots: -1, EventBufferBytes: 4096}})

	names := []string{"tf-crowd-a", "tf-crowd-b", "tf-crowd-c", "tf-crowd-d"}
	crowd := startCrowd(t, p, names, 2, sink, flows, count, size)
	storm := testenv.StartPeer(t, p.Client, "tf-storm", "fault-socket-storm", "20000")
	storm.Go()
	for _, m := range crowd {
		m.peer.Go()
	}
	byPort := collectPorts(t, crowd, flows)
	storm.Wait(t)

	ns := netnsCookie(t, p.Client)
	var ours []record.Record
	for _, r := range records(a) {
		if r.Netns == ns && r.PeerPort == 7300 {
			ours = append(ours, r)
		}
	}
	owned := assertCrowdOwners(t, ours, byPort)
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	missing := len(byPort) - len(ours)
	t.Logf("%d flows made, %d tracked (%d with an owner), %d did not fit; losses %v; %d log lines",
		len(byPort), len(ours), owned, missing, c.Losses(), logs.count())
	if len(ours) > 16 || missing <= 0 {
		t.Errorf("%d of %d flows tracked in a map of 16", len(ours), len(byPort))
	}
	// Every datagram of a flow that did not fit was counted as lost.
	if got, want := c.Kernel["flow_map_full"], uint64(missing*count); got != want {
		t.Errorf("flow_map_full = %d, want %d (%d flows of %d datagrams)", got, want, missing, count)
	}
	if c.Losses()["events_lost"] == 0 {
		t.Error("a one-page ring buffer under a socket storm lost no events, or did not count them")
	}
	if warn := logs.warnings(); len(warn) > 0 {
		t.Errorf("%d warnings", len(warn))
	}
}

// assertCrowdOwners checks each tracked flow against the process that
// printed its port, and returns how many flows have an owner.
func assertCrowdOwners(t *testing.T, recs []record.Record, byPort map[uint16]*crowdMember) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	owned := 0
	for _, r := range recs {
		m := byPort[r.LocalPort]
		if m == nil {
			t.Errorf("flow from port %d: no process of the crowd used it", r.LocalPort)
			continue
		}
		if r.PacketsSent != 5 || r.BytesSent != 5*228 {
			t.Errorf("flow from port %d: %d packets, %d bytes; want 5, %d", r.LocalPort, r.PacketsSent, r.BytesSent, 5*228)
		}
		if r.PID == 0 {
			continue
		}
		owned++
		if r.PID != m.peer.PID() || r.Comm != m.peer.Name {
			t.Errorf("flow from port %d: owner pid %d %q (%s), made by pid %d %q",
				r.LocalPort, r.PID, r.Comm, r.OwnerSource, m.peer.PID(), m.peer.Name)
		}
		// The exec event names the link the process was started through;
		// /proc, read when that event was lost, the binary behind it.
		if r.Exe != "" && !strings.HasSuffix(r.Exe, "/"+m.peer.Name) && r.Exe != self {
			t.Errorf("flow from port %d: executable %q, made by %q", r.LocalPort, r.Exe, m.peer.Name)
		}
	}
	return owned
}
