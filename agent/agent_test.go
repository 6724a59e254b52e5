package agent

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/sockets"
	"github.com/teamsflow/teamsflow/agent/testenv"
)

// startAgent runs the agent on the given namespaces only.
func startAgent(t *testing.T, paths ...string) *Agent {
	t.Helper()
	a, err := Start(Config{Netns: paths, PollInterval: 100 * time.Millisecond, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// netnsCookie is the cookie of the namespace at path.
func netnsCookie(t *testing.T, ns interface{ Do(func() error) error }) uint64 {
	t.Helper()
	var c uint64
	if err := ns.Do(func() error { var err error; c, err = sockets.NetnsCookie(); return err }); err != nil {
		t.Fatal(err)
	}
	return c
}

// findFlow returns the record of the flow with the given local port in
// the namespace, or fails.
func findFlow(t *testing.T, a *Agent, netns uint64, transport string, localPort, peerPort uint16) record.Record {
	t.Helper()
	var seen []string
	for _, r := range records(a) {
		if r.Netns == netns && r.Transport == transport && r.LocalPort == localPort && r.PeerPort == peerPort {
			return r
		}
		if r.Netns == netns {
			seen = append(seen, fmt.Sprintf("%s %s:%d->%s:%d", r.Transport, r.LocalAddr, r.LocalPort, r.PeerAddr, r.PeerPort))
		}
	}
	t.Fatalf("no %s flow %d->%d in the namespace; have %v", transport, localPort, peerPort, seen)
	return record.Record{}
}

func port(t *testing.T, hostport string) uint16 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return uint16(n)
}

// assertOwner checks pid, comm and executable of a flow.
func assertOwner(t *testing.T, r record.Record, p *testenv.Peer) {
	t.Helper()
	if r.PID != p.PID() || r.Comm != p.Name {
		t.Errorf("owner of %s:%d = pid %d comm %q, want pid %d comm %q (source %s)",
			r.LocalAddr, r.LocalPort, r.PID, r.Comm, p.PID(), p.Name, r.OwnerSource)
	}
	if r.Exe == "" {
		t.Errorf("owner of %s:%d has no executable", r.LocalAddr, r.LocalPort)
	}
}

// assertBytes checks a byte count against what the application moved:
// never less, and headers (plus ACKs for TCP) within a few percent.
func assertBytes(t *testing.T, what string, got, payload uint64, maxOverhead float64) {
	t.Helper()
	if got < payload || float64(got) > float64(payload)*(1+maxOverhead) {
		t.Errorf("%s = %d bytes, want %d plus at most %.0f%% headers", what, got, payload, maxOverhead*100)
	}
}
